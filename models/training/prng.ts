// Seeded pseudo-random numbers for training (Math.random never: `npm run models` must
// reproduce byte for byte). mulberry32: small, fast, good enough for init and shuffling.

/** A deterministic source of uniform floats in [0, 1). */
export interface Prng {
  next(): number;
}

/** mulberry32 seeded with a 32-bit integer, as a function returning uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** mulberry32 seeded with a 32-bit integer. */
export function createPrng(seed: number): Prng {
  return { next: seededRandom(seed) };
}

/** Fisher–Yates shuffle in place, driven by `prng`. */
export function shuffleInPlace<T>(items: T[], prng: Prng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(prng.next() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
