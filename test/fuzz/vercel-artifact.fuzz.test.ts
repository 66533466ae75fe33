// The fuzz generator against a built edge artifact: the Vercel build (build/targets/vercel.ts,
// Pro tier, micro engine, spam-edge and the alexa wake-word graph) in Vercel's edge-runtime with code generation disallowed
// (test/fuzz/targets.ts): the same seeded bad requests the node server gets, none may answer ≥ 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz } from './bad-requests.ts';
import { goodRequest, startFuzzTarget, type FuzzTarget } from './targets.ts';
import { expectCleanFuzz } from './expect-clean.ts';

let target: FuzzTarget;

beforeAll(async () => {
  target = await startFuzzTarget('vercel');
}, 120_000);
afterAll(async () => {
  await target?.close();
});

describe('fuzzing the Vercel edge artifact', () => {
  it('answers 500 seeded bad requests: none ≥ 500, every error JSON with a code', async () => {
    const summary = await runFuzz(target.send, { seed: 20261128, count: 500, concurrency: 4, models: target.models });
    expectCleanFuzz(summary, 500);
    expect((await target.send(goodRequest())).status).toBe(200);
  });
});
