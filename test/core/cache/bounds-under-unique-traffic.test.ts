// What the soak found churning in a server under a stream of unique inputs: the L1 cache and
// the cache policy's ghost lists. Both must stop at their bounds however many inputs arrive
// (a key per input, held until evicted), or every new message would cost memory for good.
import { describe, expect, it } from 'vitest';
import { CachePolicy } from '../../../core/cache/policy.ts';
import { TwoLevelCache } from '../../../core/cache/two-level-cache.ts';
import { predictionKey } from '../../../core/cache/keys.ts';
import { sha256HexSync } from '../../../core/cache/sha256.ts';

describe('cache structures under unique traffic', () => {
  it('L1 and both ghost lists stay within their bounds after 10× as many unique inputs', async () => {
    const l1MaxEntries = 50;
    const ghostEntries = 200;
    const policy = new CachePolicy({ mode: 'l1', ghostEntries });
    const cache = new TwoLevelCache({ policy, l1MaxEntries });
    const modelSha = sha256HexSync('model');
    for (let i = 0; i < ghostEntries * 10; i++) {
      const key = predictionKey({ space: 'e', fingerprint: modelSha, inputHash: sha256HexSync(`s:message ${i}`) });
      for (const tier of ['edge', 'regional'] as const) {
        const result = await cache.getOrCompute({ key: `${key}:${tier}`, tier, ttlSeconds: 3600, compute: async () => ({ label: 'ham', i }) });
        expect(result.trace.l1).toBe('miss');
      }
    }
    expect(cache.l1.size).toBe(l1MaxEntries);
    expect(policy.ghostKeyCount('edge')).toBe(ghostEntries);
    expect(policy.ghostKeyCount('regional')).toBe(ghostEntries);
    // Still working at the bound: a recent input is an L1 hit, an evicted one a ghost hit.
    const recent = predictionKey({ space: 'e', fingerprint: modelSha, inputHash: sha256HexSync(`s:message ${ghostEntries * 10 - 1}`) });
    expect((await cache.getOrCompute({ key: `${recent}:edge`, tier: 'edge', ttlSeconds: 3600, compute: async () => ({ label: 'ham', i: -1 }) })).trace.l1).toBe('hit');
    const checks = policy.explain().tiers.edge.ghostChecks;
    const evicted = predictionKey({ space: 'e', fingerprint: modelSha, inputHash: sha256HexSync(`s:message ${ghostEntries * 10 - 100}`) });
    await cache.getOrCompute({ key: `${evicted}:edge`, tier: 'edge', ttlSeconds: 3600, compute: async () => ({ label: 'ham', i: -2 }) });
    expect(policy.explain().tiers.edge.ghostChecks).toBe(checks + 1);
    expect(policy.ghostKeyCount('edge')).toBe(ghostEntries);
  });
});
