// Per-request stage timings, reported in the JSON answer and as a Server-Timing header
// (https://www.w3.org/TR/server-timing/), so a caller sees where the time went.

/** Records how long each named stage took, in milliseconds. */
export class StageTimer {
  readonly #start = performance.now();
  readonly #stages: Array<[string, number]> = [];

  /**
   * Runs `fn` and records its duration under `stage`. A synchronous `fn` stays synchronous
   * (no promise per stage on the hot path); an asynchronous one is timed until it settles.
   */
  time<T>(stage: string, fn: () => T): T {
    const t0 = performance.now();
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.#stages.push([stage, performance.now() - t0]);
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(() => this.#stages.push([stage, performance.now() - t0])) as T;
    }
    this.#stages.push([stage, performance.now() - t0]);
    return result;
  }

  /** Records a duration measured elsewhere. */
  record(stage: string, ms: number): void {
    this.#stages.push([stage, ms]);
  }

  /** Stage durations plus `total`, rounded to microseconds. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [stage, ms] of this.#stages) out[`${stage}Ms`] = round3((out[`${stage}Ms`] ?? 0) + ms);
    out.totalMs = round3(performance.now() - this.#start);
    return out;
  }

  /** The Server-Timing header value for a snapshot. */
  static header(snapshot: Record<string, number>): string {
    return Object.entries(snapshot)
      .map(([key, ms]) => `${key.replace(/Ms$/, '')};dur=${ms}`)
      .join(', ');
  }
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
