import { describe, expect, it } from 'vitest';
import { LruCache } from '../../../core/cache/lru.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry past maxEntries', () => {
    const lru = new LruCache<number>({ maxEntries: 2, maxBytes: 1000 });
    lru.set('a', 1, 60_000, 10);
    lru.set('b', 2, 60_000, 10);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3, 60_000, 10);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.evictions).toBe(1);
  });

  it('evicts by bytes, and refuses an entry larger than the whole budget', () => {
    const lru = new LruCache<string>({ maxEntries: 100, maxBytes: 100 });
    lru.set('a', 'x', 60_000, 40);
    lru.set('b', 'y', 60_000, 40);
    lru.set('c', 'z', 60_000, 40);
    expect(lru.bytes).toBe(80);
    expect(lru.has('a')).toBe(false);
    expect(lru.set('huge', 'h', 60_000, 101)).toBe(false);
    expect(lru.size).toBe(2);
    expect(lru.get('b')).toBe('y');
  });

  it('expires entries after their TTL', () => {
    let now = 1_000;
    const lru = new LruCache<string>({ maxEntries: 10, maxBytes: 1000, now: () => now });
    lru.set('k', 'v', 500, 1);
    now += 499;
    expect(lru.get('k')).toBe('v');
    now += 1;
    expect(lru.get('k')).toBeUndefined();
    expect(lru.size).toBe(0);
    expect(lru.bytes).toBe(0);
  });

  it('replacing a key adjusts bytes; ttl 0 stores nothing', () => {
    const lru = new LruCache<string>({ maxEntries: 10, maxBytes: 1000 });
    lru.set('k', 'v1', 1000, 30);
    lru.set('k', 'v2', 1000, 50);
    expect(lru.bytes).toBe(50);
    expect(lru.set('z', 'v', 0, 1)).toBe(false);
    expect(lru.get('z')).toBeUndefined();
    expect(lru.delete('k')).toBe(true);
    expect(lru.bytes).toBe(0);
  });
});
