// The trend of a series of RSS samples, to tell a sawtooth (memory taken and given back as
// the garbage collector runs) from a leak (memory that only goes up): the least-squares
// slope over the second half of the run, and the lowest sample of the last minute against
// the lowest of the first. A leak raises the floor; a sawtooth only moves between floor and
// ceiling.

/** One RSS sample: seconds since the start of the run, MiB. */
export interface RssSample {
  t: number;
  rssMiB: number;
}

/** What {@link rssTrend} reports. */
export interface RssTrend {
  minMiB: number;
  maxMiB: number;
  /** Least-squares slope of the samples in the second half of the run, MiB per minute. */
  slopeMiBPerMin: number;
  /** Lowest sample with t ≤ 60 s. */
  lowFirstMinuteMiB: number;
  /** Lowest sample with t ≥ (last t − 60 s). */
  lowLastMinuteMiB: number;
  /** lowLastMinute vs lowFirstMinute, percent (one decimal). */
  lowGrowthPct: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The trend of `samples` (at least two, in time order). */
export function rssTrend(samples: readonly RssSample[]): RssTrend {
  if (samples.length < 2) throw new RangeError(`rssTrend needs at least 2 samples, got ${samples.length}`);
  const last = (samples[samples.length - 1] as RssSample).t;
  const values = samples.map((s) => s.rssMiB);
  const secondHalf = samples.filter((s) => s.t >= last / 2);
  const lowFirst = Math.min(...samples.filter((s) => s.t <= 60).map((s) => s.rssMiB));
  const lowLast = Math.min(...samples.filter((s) => s.t >= last - 60).map((s) => s.rssMiB));
  return {
    minMiB: Math.min(...values),
    maxMiB: Math.max(...values),
    slopeMiBPerMin: round1(slope(secondHalf.length >= 2 ? secondHalf : samples) * 60),
    lowFirstMinuteMiB: lowFirst,
    lowLastMinuteMiB: lowLast,
    lowGrowthPct: round1(((lowLast - lowFirst) / lowFirst) * 100),
  };
}

/** Least-squares slope of rssMiB over t (MiB per second). */
function slope(samples: readonly RssSample[]): number {
  const n = samples.length;
  const meanT = samples.reduce((a, s) => a + s.t, 0) / n;
  const meanY = samples.reduce((a, s) => a + s.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - meanT) * (s.rssMiB - meanY);
    den += (s.t - meanT) ** 2;
  }
  return den > 0 ? num / den : 0;
}
