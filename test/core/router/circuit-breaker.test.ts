import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../core/router/circuit-breaker.ts';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  const options = { failures: 3, windowMs: 1_000, halfOpenAfterMs: 500 };

  it('opens after N failures inside the window', () => {
    const c = clock();
    const breaker = new CircuitBreaker(options, c.now);
    for (let i = 0; i < 2; i++) {
      expect(breaker.tryAcquire()).toBe(true);
      breaker.recordFailure();
      c.advance(100);
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.recentFailures()).toBe(2);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(500);
  });

  it('forgets failures that slid out of the window', () => {
    const c = clock();
    const breaker = new CircuitBreaker(options, c.now);
    breaker.recordFailure();
    breaker.recordFailure();
    c.advance(1_000); // both now exactly windowMs old: out
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    expect(breaker.recentFailures()).toBe(1);
  });

  it('half-opens after the delay, allows one trial, closes on success', () => {
    const c = clock();
    const breaker = new CircuitBreaker(options, c.now);
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    c.advance(499);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs()).toBe(1);
    c.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false); // only one trial at a time
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.recentFailures()).toBe(0);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('re-opens when the half-open trial fails, for another full delay', () => {
    const c = clock();
    const breaker = new CircuitBreaker(options, c.now);
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    c.advance(600);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    c.advance(499);
    expect(breaker.state).toBe('open');
    c.advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it('rejects nonsense settings', () => {
    expect(() => new CircuitBreaker({ failures: 0, windowMs: 1, halfOpenAfterMs: 1 })).toThrow(/failures/);
    expect(() => new CircuitBreaker({ failures: 1, windowMs: -1, halfOpenAfterMs: 1 })).toThrow(/windowMs/);
  });
});
