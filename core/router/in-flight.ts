// Counts requests in flight in this isolate so the router can see the PoP is saturated:
// beyond `maxInFlight` concurrent requests, new ones skip the edge model and go straight
// to the regional tier (which aggregates load across PoPs).

/** One admitted request; release it exactly once when the request is done. */
export interface InFlightTicket {
  /** True when admitting this request took the count over `maxInFlight`. */
  readonly saturated: boolean;
  /** The count including this request, at admission. */
  readonly inFlight: number;
  release(): void;
}

/** A concurrency gauge with a saturation limit. */
export class InFlightCounter {
  readonly maxInFlight: number;
  #current = 0;
  #peak = 0;

  /** `maxInFlight` ≥ 1, or Infinity to never saturate. */
  constructor(maxInFlight: number) {
    if (!(maxInFlight >= 1)) throw new RangeError(`maxInFlight must be ≥ 1, got ${maxInFlight}`);
    this.maxInFlight = maxInFlight;
  }

  /** Requests currently in flight. */
  get current(): number {
    return this.#current;
  }

  /** Highest count seen since creation (for metrics). */
  get peak(): number {
    return this.#peak;
  }

  /** Admits a request (always; saturation only changes where it is served). */
  enter(): InFlightTicket {
    const inFlight = ++this.#current;
    if (inFlight > this.#peak) this.#peak = inFlight;
    let released = false;
    return {
      saturated: inFlight > this.maxInFlight,
      inFlight,
      release: () => {
        if (released) return;
        released = true;
        this.#current--;
      },
    };
  }
}
