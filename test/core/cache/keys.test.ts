import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalInput, featureKey, inputHash, inputHashSync, parsePredictionKey, predictionKey, sha256HexOfText } from '../../../core/cache/keys.ts';
import { nodeSha256Hex } from '../../../adapters/node/local-service.ts';
import { loadSplits } from '../../../models/training/dataset.ts';

const SHA = 'a'.repeat(64);

describe('cache keys', () => {
  it('hashes with SHA-256 of the UTF-8 canonical text', async () => {
    expect(await sha256HexOfText('héllo')).toBe(createHash('sha256').update('héllo', 'utf8').digest('hex'));
    expect(await inputHash('Buy now!')).toBe(createHash('sha256').update('s:Buy now!').digest('hex'));
  });

  it("the node server's native digest gives the portable digest's keys, lone surrogates and all", async () => {
    const inputs: unknown[] = ['', 'héllo', '😀 日本語', '\ud800 lone', 'x'.repeat(70_000), [1, 2, 3], ...loadSplits().test.slice(0, 50).map((m) => m.text)];
    for (const input of inputs) {
      expect(inputHashSync(input, nodeSha256Hex)).toBe(inputHashSync(input));
      expect(await inputHash(input, nodeSha256Hex)).toBe(await inputHash(input));
      // The sync path hashes a text as ("s:", text): the same key as the joined canonical text.
      expect(inputHashSync(input)).toBe(createHash('sha256').update(canonicalInput(input), 'utf8').digest('hex'));
    }
  });

  it('canonical input ignores key order but not text differences', async () => {
    expect(canonicalInput({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('j:{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(await inputHash({ x: 1, y: 2 })).toBe(await inputHash({ y: 2, x: 1 }));
    expect(await inputHash('Hello')).not.toBe(await inputHash('hello'));
    // A string and the JSON of the same string are different inputs.
    expect(canonicalInput('1')).not.toBe(canonicalInput(1));
    expect(canonicalInput(new Int32Array([3, 1]))).toBe('j:[3,1]');
    expect(() => canonicalInput({ x: Number.NaN })).toThrow(/NaN/);
  });

  it('prediction keys bind model sha and preprocessing version, and parse back', async () => {
    const hash = await inputHash('text');
    const key = predictionKey({ modelSha: SHA, preprocessingVersion: 1, inputHash: hash });
    expect(key).toBe(`p:${SHA}:1:${hash}`);
    expect(parsePredictionKey(key)).toEqual({ modelSha: SHA, preprocessingVersion: 1, inputHash: hash });
    expect(predictionKey({ modelSha: 'b'.repeat(64), preprocessingVersion: 1, inputHash: hash })).not.toBe(key);
    expect(predictionKey({ modelSha: SHA, preprocessingVersion: 2, inputHash: hash })).not.toBe(key);
    expect(parsePredictionKey('f:domain:1:x')).toBeNull();
  });

  it('feature keys name view and version, and escape the entity', () => {
    expect(featureKey('sender_domain', 3, 'example.com')).toBe('f:sender_domain:3:example.com');
    expect(featureKey('v', 1, 'a:b')).toBe('f:v:1:a%3Ab');
  });
});
