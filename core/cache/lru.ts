// The L1 cache: an in-isolate LRU bounded by entry count and by bytes, with a TTL per
// entry. Free to consult (no network, no per-call price), so every tier uses it.

/** Bounds of an L1 cache. */
export interface LruOptions {
  /** Most entries kept; the least recently used go first. */
  maxEntries: number;
  /** Most bytes kept (as reported per entry by the caller). */
  maxBytes: number;
  /** Clock in milliseconds; injectable so tests step time instead of sleeping. */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  expiresAt: number;
}

/** A size- and count-bounded LRU map with per-entry expiry. */
export class LruCache<V> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #now: () => number;
  // Map keeps insertion order: re-inserting on access makes the first key the least recent.
  readonly #entries = new Map<string, Entry<V>>();
  #bytes = 0;
  #evictions = 0;

  constructor(options: LruOptions) {
    if (!(Number.isInteger(options.maxEntries) && options.maxEntries >= 0)) throw new RangeError(`maxEntries must be an integer ≥ 0, got ${options.maxEntries}`);
    if (!(Number.isFinite(options.maxBytes) && options.maxBytes >= 0)) throw new RangeError(`maxBytes must be a number ≥ 0, got ${options.maxBytes}`);
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
    this.#now = options.now ?? (() => Date.now());
  }

  /** The live value for `key`, marking it most recently used; undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(key, entry);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** True when `key` holds a live value (does not change recency). */
  has(key: string): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > this.#now();
  }

  /**
   * Stores `value` for `ttlMs` milliseconds. An entry larger than the whole byte budget is
   * not stored (it would evict everything); returns whether it was stored.
   */
  set(key: string, value: V, ttlMs: number, bytes: number): boolean {
    const old = this.#entries.get(key);
    if (old) this.#remove(key, old);
    if (ttlMs <= 0 || bytes > this.maxBytes || this.maxEntries === 0) return false;
    this.#entries.set(key, { value, bytes, expiresAt: this.#now() + ttlMs });
    this.#bytes += bytes;
    for (const [oldestKey, oldest] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#remove(oldestKey, oldest);
      this.#evictions++;
    }
    return true;
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#remove(key, entry);
    return true;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** Entries held (expired ones count until touched). */
  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Entries pushed out by the bounds (not by expiry) since creation. */
  get evictions(): number {
    return this.#evictions;
  }

  #remove(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}
