// What every vitest fuzz run asserts of its summary: no violation, every case answered, and
// each kind of refusal seen (so the families really reach the validators).
import { expect } from 'vitest';
import type { FuzzSummary } from './bad-requests.ts';

const REFUSAL_CODES = ['invalid_json', 'invalid_request', 'payload_too_large', 'unsupported_media_type', 'method_not_allowed', 'not_found'];

export function expectCleanFuzz(summary: FuzzSummary, count: number): void {
  expect(summary.violations).toEqual([]);
  expect(summary.answered).toBe(count);
  for (const code of REFUSAL_CODES) expect(summary.byCode[code], code).toBeGreaterThan(0);
}
