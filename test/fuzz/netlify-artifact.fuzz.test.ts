// The fuzz generator against the built Netlify edge function, run in Deno (from the optional
// dependency @deno/linux-x64-glibc) as Netlify calls it, over real sockets (test/fuzz/targets.ts).
// Without Deno the suite is skipped loudly; under CI=true that is an error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz } from './bad-requests.ts';
import { goodRequest, netlifyUnavailable, startFuzzTarget, type FuzzTarget } from './targets.ts';
import { expectCleanFuzz } from './expect-clean.ts';

const unavailable = netlifyUnavailable();
if (unavailable) {
  if (process.env.CI) throw new Error(unavailable);
  console.warn(`SKIPPING the Netlify artifact fuzz test: ${unavailable}`);
}

let target: FuzzTarget;

describe.skipIf(unavailable)('fuzzing the Netlify edge artifact (Deno)', () => {
  beforeAll(async () => {
    target = await startFuzzTarget('netlify');
  }, 120_000);
  afterAll(async () => {
    await target?.close();
  });

  it('answers 400 seeded bad requests over sockets: none ≥ 500, every error JSON with a code, Deno still serving', async () => {
    const summary = await runFuzz(target.send, { seed: 20261129, count: 400, concurrency: 8, models: target.models });
    expectCleanFuzz(summary, 400);
    expect(target.alive()).toBe(true);
    expect((await target.send(goodRequest())).status).toBe(200);
  });
});
