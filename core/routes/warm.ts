// GET /_warm: the warmer's route. Behind `Authorization: Bearer <EDGEINFER_ADMIN_TOKEN>`
// (404 when no token is configured, so the route does not exist for the public), it loads
// every model (engine initialisation, sha256 check and the model's own warmup inference),
// runs one timed inference per model, and primes L1 with the model's hottest keys from L2
// where a remote cache holds them. It answers what it did and how long each step took.
import type { CoreRequest } from '../http/core-request.ts';
import { HttpError } from '../http/errors.ts';
import { JsonReply } from '../http/reply.ts';
import { keyScope } from '../cache/keys.ts';
import { isClassificationOf, isRegionalOutcomeOf } from '../cache/prediction-values.ts';
import { firstWarmupRequest } from '../serving/loaded-model.ts';
import type { ServiceContext } from '../service-context.ts';
import { requireBearer } from '../telemetry/admin-auth.ts';

const WARM_TEXT = 'Subject: warmup\n\nedgeinfer warmup request';
/** How many hot keys per model are copied into L1. */
const HOT_KEYS_PER_MODEL = 256;

/** One step of a warm run. */
export interface WarmStep {
  step: 'load_models' | 'warmup_inference' | 'prime_l1';
  ms: number;
  detail: unknown;
}

/** The answer of GET /_warm. */
export interface WarmReport {
  warmed: boolean;
  /** True when at least one model was not loaded before this call (the isolate was cold). */
  cold: boolean;
  totalMs: number;
  steps: WarmStep[];
}

function authorize(request: CoreRequest, token: string | undefined): void {
  if (!token) throw new HttpError(404, 'not_found', 'no route for /_warm (no admin token is configured: set EDGEINFER_ADMIN_TOKEN to enable it)');
  requireBearer(request, token, 'GET /_warm');
}

/**
 * Handles GET /_warm. Its answer is a JsonReply: the warm schedule's call is often a cold
 * container's first request, and the Lambda@Edge adapter writes it without a web Response.
 */
export async function handleWarm(request: CoreRequest, service: ServiceContext): Promise<JsonReply> {
  authorize(request, service.config.adminToken);
  const started = performance.now();
  const names = [...(await service.models.catalog()).keys()];
  const cold = names.some((name) => service.models.state(name)?.status !== 'ready');
  const steps: WarmStep[] = [];

  let t = performance.now();
  const states = await service.models.loadAll();
  steps.push({
    step: 'load_models',
    ms: performance.now() - t,
    detail: states.map((state, i) =>
      state.status === 'ready'
        ? { model: names[i], version: state.version, status: 'ready', engine: state.model.engine, loadMs: state.model.loadMs }
        : { model: names[i], version: state.version, status: state.status, ...(state.status === 'failed' ? { error: state.error } : {}) },
    ),
  });

  t = performance.now();
  const inferences: Array<{ model: string; ms: number; label?: string; error?: string }> = [];
  for (const state of states) {
    if (state.status !== 'ready') continue;
    const t0 = performance.now();
    try {
      const model = state.model;
      let label: string | undefined;
      if (model.signature.textInputs.length) label = (await model.classifyIds(model.preprocessor.toIds(WARM_TEXT))).label;
      else {
        // No text (a tabular model): its warmup request, feature inputs from declared defaults (the store is not asked).
        const assembled = await model.assemble(firstWarmupRequest(model), { offline: true });
        const answer = model.interpret(await model.run(assembled.feeds));
        if (answer.kind === 'classification') label = answer.label;
      }
      inferences.push({ model: model.manifest.name, ms: performance.now() - t0, ...(label !== undefined ? { label } : {}) });
    } catch (error) {
      inferences.push({ model: state.model.manifest.name, ms: performance.now() - t0, error: error instanceof Error ? error.message : String(error) });
    }
  }
  steps.push({ step: 'warmup_inference', ms: performance.now() - t, detail: inferences });

  const caching = service.caching;
  const cache = caching?.cache;
  if (caching && cache?.remote) {
    t = performance.now();
    // A cold isolate's first Redis calls pay connection setup, over the per-call budget.
    await cache.remote.warm().catch(() => {});
    const primed: Array<{ model: string; space: 'edge' | 'regional'; entries: number }> = [];
    for (const state of states) {
      if (state.status !== 'ready') continue;
      const { manifest } = state.model;
      const { name, labels, cache: cacheSpec } = manifest;
      // Every primed value is checked like a value read from L2: another shape or labels is left out.
      const edgeEntries = await cache.primeFromHotKeys(caching.edgeScope(manifest), HOT_KEYS_PER_MODEL, cacheSpec.ttlSeconds, (v) => isClassificationOf(v, labels)).catch(() => 0);
      primed.push({ model: name, space: 'edge', entries: edgeEntries });
      // The answers of the model this one escalates to, as the regional wrapper stored them.
      const regional = manifest.cascade.regional === undefined ? undefined : await caching.identify(manifest.cascade.regional);
      if (regional) {
        const scope = keyScope({ space: 'r', fingerprint: regional.fingerprint });
        const entries = await cache.primeFromHotKeys(scope, HOT_KEYS_PER_MODEL, regional.ttlSeconds, (v) => isRegionalOutcomeOf(v, regional)).catch(() => 0);
        primed.push({ model: regional.name, space: 'regional', entries });
      }
    }
    steps.push({ step: 'prime_l1', ms: performance.now() - t, detail: primed });
  }

  const warmed = states.length > 0 && states.every((s) => s.status === 'ready') && inferences.every((i) => !i.error);
  const report: WarmReport = { warmed, cold, totalMs: performance.now() - started, steps };
  return new JsonReply(report, warmed ? 200 : 503);
}
