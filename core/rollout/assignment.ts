// Which arm of a traffic split a request lands in: a hash of the request key (a user or
// session header) mapped onto the cumulative weights, so the same key always gets the same
// version while the weights stay the same, and moving weight only moves the keys it must.

/** FNV-1a, 32 bits, over the UTF-16 code units of `text`: fast, stable across runtimes. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // Final avalanche (murmur3 fmix32): FNV's low bits alone are poorly mixed for short keys.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** A point in [0, 1) for `key` within `salt` (the model name: two rollouts split independently). */
export function unitInterval(salt: string, key: string): number {
  return fnv1a32(`${salt}\u0000${key}`) / 4294967296;
}

/** The version whose cumulative weight band contains `point`; weights need not sum to 1. */
export function pickByWeight(weights: ReadonlyArray<readonly [version: string, weight: number]>, point: number): string | undefined {
  let total = 0;
  for (const [, weight] of weights) total += Math.max(0, weight);
  if (!(total > 0)) return undefined;
  let at = point * total;
  for (const [version, weight] of weights) {
    if (weight <= 0) continue;
    if (at < weight) return version;
    at -= weight;
  }
  // Rounding at the top edge: the last arm with weight.
  return [...weights].reverse().find(([, w]) => w > 0)?.[0];
}
