// The in-memory fixed window: counts, refusals, window reset, per-key isolation, bounded memory.
import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../../core/ratelimit/memory-rate-limiter.ts';
import { parseRateLimitSpec } from '../../../core/ratelimit/rate-limiter.ts';
import { addressBucket } from '../../../core/ratelimit/client-key.ts';

describe('MemoryRateLimiter', () => {
  it('allows `limit` requests per window, refuses the rest until the window resets', () => {
    let now = 10_500;
    const limiter = new MemoryRateLimiter({ limit: 3, windowMs: 1_000, now: () => now });
    const results = Array.from({ length: 5 }, () => limiter.limit('a'));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
    // Windows are aligned to the epoch: 10,500 ms lies in [10,000, 11,000).
    expect(results.every((r) => r.reset === 11_000 && r.limit === 3)).toBe(true);
    now = 10_999;
    expect(limiter.limit('a').success).toBe(false);
    now = 11_000;
    expect(limiter.limit('a')).toEqual({ success: true, limit: 3, remaining: 2, reset: 12_000 });
  });

  it('keeps keys apart', () => {
    const limiter = new MemoryRateLimiter({ limit: 1, windowMs: 60_000, now: () => 0 });
    expect(limiter.limit('a').success).toBe(true);
    expect(limiter.limit('a').success).toBe(false);
    expect(limiter.limit('b').success).toBe(true);
  });

  it('holds at most maxKeys, evicting the oldest, and forgets everything at the next window', () => {
    let now = 0;
    const limiter = new MemoryRateLimiter({ limit: 1, windowMs: 1_000, maxKeys: 100, now: () => now });
    for (let i = 0; i < 1_000; i++) limiter.limit(`k${i}`);
    expect(limiter.size).toBe(100);
    expect(limiter.evictions).toBe(900);
    // The newest keys are still counted, the evicted ones start again.
    expect(limiter.limit('k999').success).toBe(false);
    expect(limiter.limit('k0').success).toBe(true);
    now = 1_000;
    limiter.limit('x');
    expect(limiter.size).toBe(1);
  });

  it('a flood does not grow a key past limit + 1', () => {
    const limiter = new MemoryRateLimiter({ limit: 2, windowMs: 1_000, now: () => 0 });
    for (let i = 0; i < 10_000; i++) limiter.limit('a');
    expect(limiter.limit('a')).toMatchObject({ success: false, remaining: 0 });
  });
});

describe('parseRateLimitSpec', () => {
  it('reads requests per window with units, and off', () => {
    expect(parseRateLimitSpec('600/60s')).toEqual({ limit: 600, windowMs: 60_000 });
    expect(parseRateLimitSpec('10/m')).toEqual({ limit: 10, windowMs: 60_000 });
    expect(parseRateLimitSpec('5 / 500ms')).toEqual({ limit: 5, windowMs: 500 });
    expect(parseRateLimitSpec('off')).toBeUndefined();
    for (const bad of ['600', '0/60s', '600/60', 'x/1s', '1.5/1s']) expect(() => parseRateLimitSpec(bad)).toThrow(/EDGEINFER_RATE_LIMIT must look like "600\/60s"/);
  });
});

describe('addressBucket', () => {
  it('IPv4 as it is, IPv6 by its /64', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
  });
});

// Issue #17 item 12: one client, one bucket, whatever the spelling of its address.
describe('addressBucket canonicalises IPv6 before taking the /64', () => {
  it('leading zeros and case do not make a new bucket', () => {
    expect(addressBucket('2001:0db8::1')).toBe(addressBucket('2001:db8::1'));
    expect(addressBucket('2001:0DB8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('[2001:db8::1]')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('IPv4-mapped addresses count as their IPv4 in every spelling, not as one shared bucket', () => {
    for (const mapped of ['::ffff:198.51.100.4', '::FFFF:198.51.100.4', '0:0:0:0:0:ffff:198.51.100.4', '::ffff:c633:6404']) expect(addressBucket(mapped), mapped).toBe('198.51.100.4');
    expect(addressBucket('::ffff:7f00:1')).not.toBe(addressBucket('::ffff:7f00:2'));
  });

  it('what does not parse is its own bounded bucket', () => {
    expect(addressBucket('1::2::3')).toBe('1::2::3');
    expect(addressBucket(`${'a:'.repeat(100)}`).length).toBeLessThanOrEqual(64);
  });
});

