// The in-process tier (`npm start`'s default) does not check answers itself: the cascade's
// withCheckedAnswers does, for every tier. Through both, a hostile or malformed answer of the
// in-process predictor is `bad_response`, a well-formed one passes, a thrown error is a function error.
import { describe, expect, it } from 'vitest';
import { withCheckedAnswers } from '../../../core/router/checked-regional-tier.ts';
import { createInProcessRegionalTier } from '../../../core/router/in-process-regional-tier.ts';
import type { RegionalPrediction } from '../../../core/router/regional-tier.ts';

const good: RegionalPrediction = { label: 'spam', scores: { ham: 0.1, spam: 0.9 }, model: { name: 'm', version: '2', sha256: 'a'.repeat(64) }, timings: { inferMs: 1 }, executionProvider: 'cpu' };
const expected = async () => ({ name: 'm', version: '2', sha256: 'a'.repeat(64), labels: ['ham', 'spam'] });
const ask = (answer: unknown) => withCheckedAnswers(createInProcessRegionalTier(async () => answer as RegionalPrediction), expected).invoke({ requestId: 'r1', deadlineMs: 1_000, model: 'm', version: '2', text: 'x' }, new AbortController().signal);

describe('in-process regional tier behind withCheckedAnswers', () => {
  it('a well-formed answer of the requested model passes', async () => {
    expect(await ask(good)).toEqual({ ok: true, prediction: good });
  });
  it.each([
    ['not an object', 'spam'],
    ['no scores', { ...good, scores: undefined }],
    ['a label contradicting the scores', { ...good, label: 'ham' }],
    ['an unknown label', { ...good, label: 'eggs', scores: { eggs: 1 } }],
    ['another version', { ...good, model: { ...good.model, version: '1' } }],
    ['a score of 1e308', { ...good, scores: { ham: 1e308, spam: 0.9 } }],
  ])('%s: bad_response', async (_name, answer) => {
    expect(await ask(answer)).toMatchObject({ ok: false, reason: 'bad_response' });
  });
  it('a thrown error is a function error', async () => {
    const tier = createInProcessRegionalTier(async () => { throw new TypeError('boom'); });
    expect(await tier.invoke({ requestId: 'r2', deadlineMs: 1_000, model: 'm', text: 'x' }, new AbortController().signal)).toMatchObject({ ok: false, reason: 'function_error', message: expect.stringMatching(/TypeError: boom/) });
  });
});
