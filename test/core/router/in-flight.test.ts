import { describe, expect, it } from 'vitest';
import { InFlightCounter } from '../../../core/router/in-flight.ts';

describe('InFlightCounter', () => {
  it('flags requests beyond maxInFlight as saturated and counts releases once', () => {
    const counter = new InFlightCounter(2);
    const a = counter.enter();
    const b = counter.enter();
    const c = counter.enter();
    expect([a.saturated, b.saturated, c.saturated]).toEqual([false, false, true]);
    expect(c.inFlight).toBe(3);
    c.release();
    c.release(); // idempotent
    expect(counter.current).toBe(2);
    expect(counter.enter().saturated).toBe(true); // back to 3
    b.release();
    expect(counter.current).toBe(2);
    a.release();
    expect(counter.enter().saturated).toBe(false);
    expect(counter.peak).toBe(3);
  });

  it('refuses a limit below 1', () => {
    expect(() => new InFlightCounter(0)).toThrow(/maxInFlight/);
  });
});
