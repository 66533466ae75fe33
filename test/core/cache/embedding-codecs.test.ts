import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  byteLength,
  chooseEmbeddingCodec,
  decodeEmbedding,
  EMBEDDING_CODECS,
  encodeEmbedding,
  float16BitsToFloat32,
  float32ToFloat16Bits,
} from '../../../core/cache/embedding-codecs.ts';
import { createUpstashRemoteCache } from '../../../core/cache/remote-cache.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { createPrng } from '../../../models/training/prng.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';

const prng = createPrng(42);
const gaussianish = () => prng.next() + prng.next() + prng.next() - 1.5;
const vector = (dims: number, relu = false) => Float32Array.from({ length: dims }, () => (relu ? Math.max(0, gaussianish()) : gaussianish()));

describe('embedding codecs', () => {
  it('fp16 bits match IEEE 754 half precision', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(70000)).toBe(0x7c00);
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(1e-9)).toBe(0);
    expect(float16BitsToFloat32(0x2e66)).toBeCloseTo(0.0999755859375, 12);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN)))).toBe(true);
  });

  it('each codec decodes within its error bound and has the stated size', () => {
    const v = vector(100);
    const max = Math.max(...Array.from(v, Math.abs));
    for (const codec of EMBEDDING_CODECS) {
      const text = encodeEmbedding(v, codec);
      expect(text.startsWith(`${codec}:100:`)).toBe(true);
      const decoded = decodeEmbedding(text);
      expect(decoded).toHaveLength(100);
      expect(atob(text.split(':')[2] as string)).toHaveLength(byteLength(codec, 100));
      const maxError = Math.max(...Array.from(decoded, (x, i) => Math.abs(x - (v[i] as number))));
      if (codec === 'fp32') expect(Array.from(decoded)).toEqual(Array.from(v));
      if (codec === 'fp16') expect(maxError).toBeLessThanOrEqual(max * 2 ** -11);
      if (codec === 'int8') expect(maxError).toBeLessThanOrEqual(max / 127 / 2 + 1e-7);
      if (codec === 'binary') expect(decoded.every((x, i) => Math.sign(x) === Math.sign(v[i] as number) || (v[i] as number) <= 0)).toBe(true);
    }
    expect(byteLength('binary', 100)).toBe(8 + 13);
  });

  it('binary keeps the scale of a ReLU vector: zeros stay 0, positives become their mean', () => {
    const v = new Float32Array([0, 2, 0, 4, 0, 0, 6, 0, 0]);
    expect(Array.from(decodeEmbedding(encodeEmbedding(v, 'binary')))).toEqual([0, 4, 0, 4, 0, 0, 4, 0, 0]);
  });

  it('refuses malformed text', () => {
    expect(() => decodeEmbedding('fp32:3:AAAA')).toThrow(/12 bytes/);
    expect(() => decodeEmbedding('gzip:3:AAAA')).toThrow(/not an encoded embedding/);
  });

  it('chooses the smallest codec meeting the agreement target, fp32 when none does', () => {
    const w = vector(64);
    const head = (e: Float32Array) => (e.reduce((s, x, i) => s + x * (w[i] as number), 0) > 0.3 ? 1 : 0);
    const embeddings = Array.from({ length: 400 }, () => vector(64, true));
    const choice = chooseEmbeddingCodec(embeddings, head, 0.995);
    const byCodec = Object.fromEntries(choice.measurements.map((m) => [m.codec, m]));
    expect(byCodec.fp32?.agreement).toBe(1);
    expect(byCodec.fp16?.agreement).toBeGreaterThan(0.99);
    const sizes = choice.measurements.map((m) => m.textBytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a)); // fp32 > fp16 > int8 > binary
    const smallestFitting = choice.measurements.filter((m) => m.agreement >= 0.995).sort((a, b) => a.textBytes - b.textBytes)[0];
    expect(choice.chosen).toBe(smallestFitting?.codec);
    expect(chooseEmbeddingCodec(embeddings, head, 1.01).chosen).toBe('fp32');
  });
});

const hasRedis = await redisAvailable('embedding codec round trip through Upstash REST');
describe.skipIf(!hasRedis)('encoded embeddings through the local Upstash REST server', () => {
  let server: UpstashRestServer;
  beforeAll(async () => {
    server = await startLocalUpstash();
  });
  afterAll(async () => server?.close());

  it('every codec survives a SET/GET round trip as text', async () => {
    const remote = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 2_000 });
    const v = vector(48);
    for (const codec of EMBEDDING_CODECS) {
      const key = `test:emb:${process.pid}:${Date.now()}:${codec}`;
      const text = encodeEmbedding(v, codec);
      await remote.set(key, text, 60);
      const read = await remote.get(key);
      expect(read).toMatchObject({ status: 'hit', value: text });
      expect(Array.from(decodeEmbedding((read as { value: string }).value))).toEqual(Array.from(decodeEmbedding(text)));
    }
  });
});
