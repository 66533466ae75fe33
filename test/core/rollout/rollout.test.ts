// Phased rollout logic: split proportions over 10,000 keys, stickiness (same key, same
// version, in any isolate; moving weight moves only the keys it must), canary rollback on
// error rate, hold on p99, the ramp of steps, and shadow sampling.
import { describe, expect, it } from 'vitest';
import { fnv1a32, pickByWeight, unitInterval } from '../../../core/rollout/assignment.ts';
import { ModelRollout, Rollout } from '../../../core/rollout/rollout.ts';
import { Telemetry } from '../../../core/telemetry/telemetry.ts';

const request = (key?: string, header = 'x-user-id') => new Request('http://x/v1/predict', { method: 'POST', headers: key === undefined ? {} : { [header]: key } });

function counts(rollout: ModelRollout, n: number, prefix = 'user-'): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const v = rollout.assign(request(`${prefix}${i}`), undefined);
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

describe('assignment', () => {
  it('the key hash is pinned (changing it would reshuffle every sticky assignment) and spreads keys evenly', () => {
    expect([fnv1a32(''), fnv1a32('user-42'), fnv1a32('spam-edge\u0000user-42')]).toEqual([2872998923, 2083131798, 796824315]);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(unitInterval('m', `k${i}`) * 10)]++;
    for (const b of buckets) expect(Math.abs(b - 1_000)).toBeLessThan(120);
  });

  it('pickByWeight maps the unit interval onto cumulative weights; zero weights never win', () => {
    const w: Array<[string, number]> = [['1', 3], ['2', 0], ['3', 1]];
    expect(pickByWeight(w, 0)).toBe('1');
    expect(pickByWeight(w, 0.74)).toBe('1');
    expect(pickByWeight(w, 0.76)).toBe('3');
    expect(pickByWeight(w, 0.999999)).toBe('3');
    expect(pickByWeight([['1', 0]], 0.5)).toBeUndefined();
  });
});

describe('traffic split', () => {
  it('90/10 and 50/30/20 over 10,000 keys land within 1.5 points of the weights', () => {
    const two = counts(new ModelRollout('spam-edge', { split: { '1': 90, '2': 10 } }), 10_000);
    expect(Math.abs((two['2'] ?? 0) / 10_000 - 0.1)).toBeLessThan(0.015);
    const three = counts(new ModelRollout('spam-edge', { split: { '1': 5, '2': 3, '3': 2 } }), 10_000);
    expect(Math.abs((three['1'] ?? 0) / 10_000 - 0.5)).toBeLessThan(0.015);
    expect(Math.abs((three['2'] ?? 0) / 10_000 - 0.3)).toBeLessThan(0.015);
    expect(Math.abs((three['3'] ?? 0) / 10_000 - 0.2)).toBeLessThan(0.015);
  });

  it('is sticky: a key gets the same version every time and in another isolate; the key header list is honoured', () => {
    const a = new ModelRollout('spam-edge', { split: { '1': 50, '2': 50 } });
    const b = new ModelRollout('spam-edge', { split: { '1': 50, '2': 50 } });
    for (let i = 0; i < 500; i++) {
      const first = a.assign(request(`u${i}`), undefined);
      expect(a.assign(request(`u${i}`), 'any text')).toBe(first);
      expect(b.assign(request(`u${i}`), undefined)).toBe(first);
      expect(a.assign(request(`u${i}`, 'x-session-id'), undefined)).toBe(first);
    }
    const custom = new ModelRollout('spam-edge', { split: { '1': 50, '2': 50 }, keyHeaders: ['X-Account'] });
    expect(custom.assign(request('acct-7', 'x-account'), 'text one')).toBe(custom.assign(request('acct-7', 'x-account'), 'text two'));
  });

  it('without a key the text decides (same text, same version); moving 10 → 20 % moves only v1 keys to v2', () => {
    const r = new ModelRollout('spam-edge', { split: { '1': 50, '2': 50 } });
    expect(r.assign(request(), 'hello there')).toBe(r.assign(request(), 'hello there'));
    const before = new ModelRollout('spam-edge', { split: { '1': 90, '2': 10 } });
    const after = new ModelRollout('spam-edge', { split: { '1': 80, '2': 20 } });
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const was = before.assign(request(`k${i}`), undefined);
      const now = after.assign(request(`k${i}`), undefined);
      if (was === '2') expect(now).toBe('2');
      if (was !== now) moved++;
    }
    expect(Math.abs(moved / 10_000 - 0.1)).toBeLessThan(0.015);
  });

  it('refuses a split without a positive weight and a canary outside the split', () => {
    expect(() => new ModelRollout('m', { split: { '1': 0 } })).toThrow(/positive weight/);
    expect(() => new ModelRollout('m', { split: { '1': 1 }, canary: { version: '3' } })).toThrow(/not in the split/);
  });
});

describe('canary', () => {
  const feed = (r: ModelRollout, version: string, n: number, errorEvery: number, ms: (i: number) => number, telemetry?: Telemetry) => {
    for (let i = 0; i < n; i++) r.record(version, !(errorEvery > 0 && i % errorEvery === 0), ms(i), telemetry);
  };

  it('rolls back when the error rate exceeds the factor: the canary weight drops to 0 and every key goes to the baseline', () => {
    const telemetry = new Telemetry({ now: () => 0 });
    const r = new ModelRollout('spam-edge', { split: { '1': 90, '2': 10 }, canary: { version: '2', minRequests: 200, errorRateFactor: 2 } });
    feed(r, '1', 300, 100, () => 5, telemetry); // 1 % errors
    feed(r, '2', 199, 10, () => 5, telemetry); // 10 %, not judged yet (199 < 200)
    expect(r.status().canary?.state).toBe('running');
    feed(r, '2', 1, 0, () => 5, telemetry);
    const status = r.status();
    expect(status.canary?.state).toBe('rolled_back');
    expect(status.canary?.reason).toMatch(/error rate 10\.00% > 2 × baseline 1\.00%/);
    expect(status.weights).toEqual({ '1': 90, '2': 0 });
    expect(counts(r, 1_000)).toEqual({ '1': 1_000 });
    // Per-arm metrics went to telemetry.
    const total = telemetry.snapshot().total;
    expect(total.sum('edgeinfer_rollout_requests_total', { version: '2', outcome: 'error' })).toBe(20);
    expect(total.sketch('edgeinfer_rollout_latency_ms', { version: '1' }).count).toBe(300);
  });

  it('does not trigger within the factor, and the error floor keeps a clean baseline from making one error fatal', () => {
    const r = new ModelRollout('m', { split: { '1': 1, '2': 1 }, canary: { version: '2', minRequests: 200, errorRateFactor: 2, errorRateFloor: 0.005 } });
    feed(r, '1', 200, 0, () => 5);
    feed(r, '2', 200, 200, () => 5); // one error in 200 = 0.5 % ≤ 2 × 0.5 %
    expect(r.status().canary?.state).toBe('running');
  });

  it('holds when p99 exceeds the factor with onBreach: hold (weights stay)', () => {
    const r = new ModelRollout('m', { split: { '1': 95, '2': 5 }, canary: { version: '2', minRequests: 100, p99Factor: 1.5, onBreach: 'hold' } });
    feed(r, '1', 100, 0, (i) => 5 + (i % 10));
    feed(r, '2', 100, 0, (i) => 3 * (5 + (i % 10)));
    const status = r.status();
    expect(status.canary?.state).toBe('held');
    expect(status.canary?.reason).toMatch(/p99 4[0-9.]+ ms > 1\.5 × baseline 1[0-9.]+ ms/);
    expect(status.weights).toEqual({ '1': 95, '2': 5 });
  });

  it('ramps through its steps while healthy, judging each step on its own requests, and ends promoted', () => {
    const r = new ModelRollout('m', { split: { '1': 1, '2': 0 }, canary: { version: '2', minRequests: 50, steps: [0.05, 0.5, 1] } });
    expect(r.status().weights).toEqual({ '1': 0.95, '2': 0.05 });
    feed(r, '1', 50, 0, () => 4);
    feed(r, '2', 50, 0, () => 4);
    expect(r.status().weights).toEqual({ '1': 0.5, '2': 0.5 });
    expect(r.status().canary?.step).toBe(1);
    feed(r, '1', 50, 0, () => 4);
    feed(r, '2', 50, 0, () => 4);
    expect(r.status().canary?.step).toBe(2);
    // The last step sends no traffic to the baseline: judged as soon as both arms have their requests.
    feed(r, '1', 50, 0, () => 4);
    feed(r, '2', 50, 0, () => 4);
    expect(r.status().canary?.state).toBe('promoted');
    expect(counts(r, 200)).toEqual({ '2': 200 });
  });
});

describe('shadow sampling', () => {
  it('shadows every request by default, none served by the shadow version itself, and about `sample` of keys otherwise', () => {
    const all = new ModelRollout('m', { split: { '1': 1 }, shadow: { version: '2' } });
    expect(all.shouldShadow(request('a'), '1')).toBe(true);
    expect(all.shouldShadow(request('a'), '2')).toBe(false);
    const some = new ModelRollout('m', { split: { '1': 1 }, shadow: { version: '2', sample: 0.2 } });
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (some.shouldShadow(request(`k${i}`), '1')) n++;
    expect(Math.abs(n / 10_000 - 0.2)).toBeLessThan(0.015);
    let keyless = 0;
    for (let i = 0; i < 1_000; i++) if (some.shouldShadow(request(), '1')) keyless++;
    expect(keyless).toBe(200);
  });

  it('Rollout routes only the models it has a plan for', () => {
    const rollout = new Rollout({ 'spam-edge': { split: { '1': 1 } } });
    expect(rollout.versionFor('spam-edge', request('k'), undefined)).toBe('1');
    expect(rollout.versionFor('other', request('k'), undefined)).toBeUndefined();
  });
});
