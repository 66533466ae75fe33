import { describe, expect, it } from 'vitest';
import { rssTrend } from '../../bench/rss-trend.ts';

const every5s = (minutes: number, f: (t: number) => number) => Array.from({ length: (minutes * 60) / 5 }, (_, i) => ({ t: (i + 1) * 5, rssMiB: f((i + 1) * 5) }));

describe('rssTrend', () => {
  it('a sawtooth between a fixed floor and ceiling has no slope and no rise of its floor', () => {
    const trend = rssTrend(every5s(5, (t) => 250 + ((t % 60) / 60) * 60));
    expect(trend.minMiB).toBe(250);
    expect(trend.maxMiB).toBeGreaterThan(300);
    expect(Math.abs(trend.slopeMiBPerMin)).toBeLessThan(1);
    expect(trend.lowGrowthPct).toBe(0);
  });

  it('a leak of 8 MiB/min under the same sawtooth shows as slope and as a rising floor', () => {
    const trend = rssTrend(every5s(5, (t) => 250 + (t / 60) * 8 + ((t % 60) / 60) * 60));
    expect(trend.slopeMiBPerMin).toBeGreaterThan(6);
    expect(trend.slopeMiBPerMin).toBeLessThan(10);
    // Four minutes apart: the floor rose by about 4 × 8 MiB.
    expect(trend.lowLastMinuteMiB - trend.lowFirstMinuteMiB).toBeGreaterThan(25);
    expect(trend.lowGrowthPct).toBeGreaterThan(10);
  });

  it('needs two samples', () => {
    expect(() => rssTrend([{ t: 5, rssMiB: 1 }])).toThrow(RangeError);
  });
});
