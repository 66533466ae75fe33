// The name rules every part of the project shares (core/model/names.ts).
import { describe, expect, it } from 'vitest';
import { isValidModelName, labelRecord, labelsProblem, ownValue, tensorNameProblem } from '../../../core/model/names.ts';

describe('isValidModelName', () => {
  it('accepts the documented set [A-Za-z0-9][A-Za-z0-9._-]{0,63}', () => {
    for (const name of ['spam-edge', 'hey_jarvis', 'a', 'v1.2', 'constructor', 'A'.repeat(64)]) expect(isValidModelName(name)).toBe(true);
  });
  it('refuses hostile and odd names', () => {
    for (const name of ["index.mjs';globalThis.PWNED=1;'", 'a\u2028b', '', '.hidden', '-x', '../x', 'a/b', 'A'.repeat(65), 'é', 'a b', 1, null]) {
      expect(isValidModelName(name)).toBe(false);
    }
  });
});

describe('labels', () => {
  it('must be unique non-empty strings of at most 128 characters', () => {
    expect(labelsProblem(['ham', 'spam'], 2)).toBeNull();
    expect(labelsProblem(['ham'], 2)).toMatch(/at least 2/);
    expect(labelsProblem(['a', 'a'])).toMatch(/repeats/);
    expect(labelsProblem(['', 'a'])).toMatch(/non-empty/);
    expect(labelsProblem(['x'.repeat(129)])).toMatch(/at most 128/);
  });

  it('are looked up without reaching Object.prototype', () => {
    const scores = labelRecord(['__proto__', 'spam'], (_l, i) => i / 2);
    expect(scores.__proto__).toBe(0);
    expect(Object.keys(scores)).toEqual(['__proto__', 'spam']);
    expect(JSON.parse(JSON.stringify(scores))).toEqual(JSON.parse('{"__proto__": 0, "spam": 0.5}'));
    expect(ownValue(scores, 'constructor')).toBeUndefined();
    expect(ownValue({ a: 1 } as Record<string, number>, 'toString')).toBeUndefined();
  });
});

describe('tensorNameProblem', () => {
  it('keeps graph names like "serving_default_x:0" and refuses control characters', () => {
    expect(tensorNameProblem('serving_default_x:0')).toBeNull();
    expect(tensorNameProblem('a\nb')).toMatch(/control/);
    expect(tensorNameProblem('a\u2029b')).toMatch(/control/);
  });
});
