// The fleet simulation's accounting: which modelled network legs each request path gets.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY_MODEL, modelLatency, popIndexFor, regionalCallMs, withMix, type PopProfile } from '../../bench/fleet/latency-model.ts';

const pop: PopProfile = {
  name: 'far',
  where: 'test',
  share: 1,
  userRtt: { ms: 10, source: 't' },
  upstashRtt: { ms: 2, source: 't' },
  regionalRtt: { ms: 90, source: 't' },
};

describe('modelLatency', () => {
  it('answered at the edge (L1 hit or edge model): compute plus the user round trip only', () => {
    expect(modelLatency(pop, 10, { computeMs: 0.4, l2Gets: 0, regionalCalls: 0 })).toEqual({ user: 10, upstash: 0, regional: 0, network: 10, total: 10.4 });
  });

  it('an L2 lookup adds one PoP ↔ Upstash round trip per GET', () => {
    const one = modelLatency(pop, 10, { computeMs: 1, l2Gets: 1, regionalCalls: 0 });
    expect(one.upstash).toBe(2);
    expect(one.total).toBe(13);
    expect(modelLatency(pop, 10, { computeMs: 1, l2Gets: 2, regionalCalls: 0 }).upstash).toBe(4);
  });

  it('a regional call adds the PoP ↔ region round trip and the Invoke front end, on top of any L2 GET before it', () => {
    const escalated = modelLatency(pop, 10, { computeMs: 2, l2Gets: 1, regionalCalls: 1 });
    expect(escalated.regional).toBe(100);
    expect(escalated.network).toBe(10 + 2 + 100);
    expect(escalated.total).toBe(114);
  });

  it('the policy expects a regional call to cost the wire, the front end and the compute', () => {
    expect(regionalCallMs(pop, 10, 1.5)).toBe(101.5);
  });
});

describe('traffic mix', () => {
  it('draws PoPs by their shares', () => {
    const pops = DEFAULT_LATENCY_MODEL.pops;
    const counts = pops.map(() => 0);
    for (let i = 0; i < 1000; i++) counts[popIndexFor(pops, (i + 0.5) / 1000)]!++;
    expect(counts).toEqual(pops.map((p) => Math.round(p.share * 1000)));
  });

  it('--mix replaces the shares and refuses unknown PoPs or shares that do not sum to 1', () => {
    expect(withMix(DEFAULT_LATENCY_MODEL, 'near=0.5,far=0.5').pops.map((p) => [p.name, p.share])).toEqual([
      ['near', 0.5],
      ['far', 0.5],
    ]);
    expect(() => withMix(DEFAULT_LATENCY_MODEL, 'mars=1')).toThrow(/unknown PoP/);
    expect(() => withMix(DEFAULT_LATENCY_MODEL, 'near=0.5')).toThrow(/sum to 1/);
  });
});
