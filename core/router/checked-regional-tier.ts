// The regional tier as the cascade uses it: every successful answer is checked against the
// model version that was asked for (regional-answer.ts) before it is cached or served. A
// failing answer becomes `bad_response` (the edge answer, degraded); the router does not
// count it as a breaker failure (router.ts says why).
import { checkRegionalAnswer, type ExpectedRegionalModel } from './regional-answer.ts';
import type { RegionalOutcome, RegionalRequest, RegionalTier } from './regional-tier.ts';

/**
 * Wraps `tier`. `expect` gives what the edge knows of the requested model version (its
 * model.json: name, version, sha256, labels), or undefined when it holds no model.json for it;
 * the answer must then still name the requested model (and version, when one was asked for).
 */
export function withCheckedAnswers(
  tier: RegionalTier,
  expect: (model: string, version: string | undefined) => Promise<ExpectedRegionalModel | undefined>,
): RegionalTier {
  return {
    kind: tier.kind,
    async invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome> {
      const outcome = await tier.invoke(request, signal);
      if (!outcome.ok) return outcome;
      const expected = (await expect(request.model, request.version).catch(() => undefined)) ?? {
        name: request.model,
        ...(request.version !== undefined ? { version: request.version } : {}),
      };
      const checked = checkRegionalAnswer(outcome.prediction, expected);
      return checked.ok ? checked : { ok: false, reason: 'bad_response', message: `regional answer refused: ${checked.problem}` };
    },
  };
}
