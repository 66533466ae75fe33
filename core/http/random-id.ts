// Short random ids for names that must differ across isolates but are no secret (an
// isolate's telemetry id, the prefix of generated request ids). Math.random, not web
// crypto: in Node the first touch of `crypto` loads the whole WebCrypto implementation
// (~5 ms of a cold start, measured in README "Cold start"), and nothing here needs its strength.

/** 8 random hex digits (32 bits). */
export function randomHex8(): string {
  return Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0');
}
