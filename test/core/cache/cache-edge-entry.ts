// Entry bundled (IIFE, browser conditions) into Vercel's edge-runtime by
// cache.edge-runtime.test.ts: the cache built from an env record, used the way the handler
// uses it; answers JSON strings (values cross the VM boundary as strings).
import { createCacheFromEnv, type CacheEnv } from '../../../core/cache/config.ts';
import { inputHash, predictionKey } from '../../../core/cache/keys.ts';
import { decodeEmbedding, encodeEmbedding } from '../../../core/cache/embedding-codecs.ts';
import type { TwoLevelCache } from '../../../core/cache/two-level-cache.ts';

const isolates = new Map<string, TwoLevelCache>();
const pending: Promise<unknown>[] = [];

/** Looks `text` up through the isolate's cache (created on first use from `env`). */
async function cachedPredict(isolate: string, env: CacheEnv, modelSha: string, text: string): Promise<string> {
  let cache = isolates.get(isolate);
  if (!cache) {
    cache = createCacheFromEnv(env, { waitUntil: (p) => void pending.push(p) }).cache;
    isolates.set(isolate, cache);
  }
  let computed = false;
  const key = predictionKey({ space: 'e', fingerprint: modelSha, inputHash: await inputHash(text) });
  const { value, trace } = await cache.getOrCompute({
    key,
    tier: 'edge',
    ttlSeconds: 60,
    compute: async () => {
      computed = true;
      return { label: text.includes('FREE') ? 'spam' : 'ham' };
    },
  });
  await Promise.all(pending.splice(0));
  return JSON.stringify({ value, trace, computed, key });
}

function roundTripEmbedding(values: number[]): string {
  return JSON.stringify(Array.from(decodeEmbedding(encodeEmbedding(Float32Array.from(values), 'fp16'))));
}

Object.assign(globalThis, { cachedPredict, roundTripEmbedding });
