import { describe, expect, it } from 'vitest';
import { readBodyBytes } from '../../../core/http/body.ts';
import type { CoreRequest } from '../../../core/http/core-request.ts';
import { HttpError } from '../../../core/http/errors.ts';

const encode = (text: string) => new TextEncoder().encode(text);

/** A CoreRequest whose stream and arrayBuffer record which of them was read. */
function probe(bytes: Uint8Array, headers: Record<string, string>, chunk = 4096) {
  const used = { stream: false, arrayBuffer: false, touched: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      used.stream = true;
      for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.slice(i, i + chunk));
      controller.close();
    },
  }, { highWaterMark: 0 }); // pulled only when read
  const request: CoreRequest = {
    method: 'POST',
    url: 'https://x/v1/predict',
    headers: new Headers(headers),
    // Deno's Request builds its body stream in this getter: the fast path must not touch it.
    get body() {
      used.touched = true;
      return body;
    },
    arrayBuffer: async () => {
      used.arrayBuffer = true;
      return bytes.slice().buffer;
    },
  };
  return { request, used };
}

async function status(promise: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
}

describe('readBodyBytes', () => {
  it('reads a body with a Content-Length within the limit whole, not as a stream', async () => {
    const bytes = encode('{"text":"hello"}');
    const { request, used } = probe(bytes, { 'content-length': String(bytes.length) });
    expect(await readBodyBytes(request, 1024)).toEqual(bytes);
    expect(used).toEqual({ stream: false, arrayBuffer: true, touched: false });
  });

  it('streams a body without Content-Length (chunked) and refuses it past the limit', async () => {
    const small = encode('{"text":"hello"}');
    const a = probe(small, {});
    expect(await readBodyBytes(a.request, 1024)).toEqual(small);
    expect(a.used).toEqual({ stream: true, arrayBuffer: false, touched: true });
    const b = probe(new Uint8Array(10_000), {}, 1000);
    expect(await status(readBodyBytes(b.request, 4096))).toBe(413);
    expect(b.used.arrayBuffer).toBe(false);
  });

  it('refuses a declared length over the limit before reading, and a body longer than its declared length', async () => {
    const big = probe(new Uint8Array(5000), { 'content-length': '5000' });
    expect(await status(readBodyBytes(big.request, 4096))).toBe(413);
    expect(big.used).toEqual({ stream: false, arrayBuffer: false, touched: false });
    const lying = probe(new Uint8Array(5000), { 'content-length': '10' });
    expect(await status(readBodyBytes(lying.request, 4096))).toBe(413);
  });

  it('streams when the Content-Length is not a plain number, and answers 400 when the read fails', async () => {
    const bytes = encode('{}');
    const odd = probe(bytes, { 'content-length': '2, 2' });
    expect(await readBodyBytes(odd.request, 1024)).toEqual(bytes);
    expect(odd.used).toEqual({ stream: true, arrayBuffer: false, touched: true });
    const failing = probe(bytes, { 'content-length': '2' });
    const request: CoreRequest = { method: 'POST', url: failing.request.url, headers: failing.request.headers, body: null, arrayBuffer: () => Promise.reject(new TypeError('aborted')) };
    expect(await status(readBodyBytes(request, 1024))).toBe(400);
  });

  it('reads a web Request with a declared length, and refuses one over the limit (413)', async () => {
    const text = JSON.stringify({ text: 'a'.repeat(100) });
    const ok = new Request('https://x/v1/predict', { method: 'POST', headers: { 'content-length': String(text.length) }, body: text });
    expect(new TextDecoder().decode(await readBodyBytes(ok, 1024))).toBe(text);
    const big = new Request('https://x/v1/predict', { method: 'POST', headers: { 'content-length': '100' }, body: 'a'.repeat(5000) });
    expect(await status(readBodyBytes(big, 4096))).toBe(413);
  });
});
