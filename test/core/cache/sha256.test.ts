// The synchronous SHA-256 behind cache keys must give web crypto's digest for every input,
// or keys written by one runtime would never be read by another.
import { describe, expect, it } from 'vitest';
import { sha256, sha256HexSync } from '../../../core/cache/sha256.ts';
import { loadSplits } from '../../../models/training/dataset.ts';

async function webCryptoHex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('sha256', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256HexSync('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256HexSync('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256HexSync('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('equals web crypto on every length around the block boundaries and on real messages', async () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= 300; n++) {
      const slice = bytes.slice(0, n);
      expect(Array.from(sha256(slice), (b) => b.toString(16).padStart(2, '0')).join('')).toBe(await webCryptoHex(slice));
    }
    const encoder = new TextEncoder();
    for (const { text } of loadSplits().test.slice(0, 200)) {
      expect(sha256HexSync(text)).toBe(await webCryptoHex(encoder.encode(text)));
    }
    // Parts hash as their concatenation (the cache keys hash "s:" and the text without joining them).
    for (const text of ['', 'abc', '😀 é 日本語', 'x'.repeat(5000) + 'é'.repeat(3000)]) {
      expect(sha256HexSync('s:', text)).toBe(await webCryptoHex(encoder.encode(`s:${text}`)));
      expect(sha256HexSync(text, 'tail', '')).toBe(sha256HexSync(`${text}tail`));
    }
    // The text path reuses one scratch buffer: a short input after a long one must not see stale bytes.
    for (const text of ['😀 é 日本語', '\ud800', 's:'.repeat(40000), 'abc', '', 'x'.repeat(55), 'x'.repeat(56)]) {
      expect(sha256HexSync(text)).toBe(await webCryptoHex(encoder.encode(text)));
    }
  });
});
