// POST /v1/predict: the product's own endpoint. {"text": "..."} in; label, scores, model
// identity, tier, cache state and stage timings out (also as Server-Timing). Edge models
// with a regional pair go through the cascade router (core/router).
import { rejectUnknownKeys, readJsonBody, requireObject } from '../http/body.ts';
import { HttpError, jsonResponse } from '../http/errors.ts';
import { StageTimer } from '../http/timing.ts';
import { requireText } from '../serving/inputs.ts';
import type { ServiceContext } from '../service-context.ts';

const PREDICT_FIELDS = ['text', 'model'] as const;

/** The JSON answer of /v1/predict. */
export interface PredictResponse {
  label: string;
  scores: Record<string, number>;
  model: { name: string; version: string; sha256: string };
  tier: 'edge' | 'regional';
  /** True when the cascade wanted the regional answer and could not get it. */
  degraded: boolean;
  /** Why the answer is degraded: timeout, function_error, throttled, circuit_open, ... */
  reason?: string;
  /** The regional call, when one was made (cause: not_confident | saturated). */
  escalation?: { cause: string; outcome: string; ms: number };
  cached: boolean;
  timings: Record<string, number>;
}

/** Handles POST /v1/predict. */
export async function handlePredict(request: Request, service: ServiceContext): Promise<Response> {
  const timer = new StageTimer();
  const body = requireObject(await timer.time('parse', () => readJsonBody(request, service.config.maxBodyBytes)));
  rejectUnknownKeys(body, PREDICT_FIELDS, 'the request body');
  const text = requireText(body.text);
  const modelName = body.model === undefined ? service.config.defaultModel : body.model;
  if (typeof modelName !== 'string') throw new HttpError(400, 'invalid_request', 'field "model" must be a string naming a model');

  const model = await service.requireModel(modelName);
  const identity = { name: model.manifest.name, version: model.manifest.version, sha256: model.manifest.sha256 };
  const runEdge = async () => {
    const ids = await timer.time('preprocess', () => model.preprocessor.toIds(text));
    const result = await timer.time('infer', () => model.classifyIds(ids));
    return { ...result, probabilities: model.manifest.labels.map((label) => result.scores[label] as number) };
  };

  const route = service.cascade.routeFor(model.manifest);
  let answer: PredictResponse;
  if (!route) {
    const result = await runEdge();
    answer = { label: result.label, scores: result.scores, model: identity, tier: 'edge', degraded: false, cached: false, timings: {} };
  } else {
    const requestId = request.headers.get('x-request-id')?.slice(0, 128) || crypto.randomUUID();
    const routed = await route.router.route({ runEdge, regionalRequest: { model: route.regionalModel, text, requestId } });
    const call = 'regionalCall' in routed ? routed.regionalCall : undefined;
    if (call) timer.record('regional', call.ms);
    if (routed.tier === 'none') {
      // Saturated PoP and the regional tier failed too: shed load rather than queue it.
      throw new HttpError(503, 'overloaded', `this edge location is saturated and the regional tier failed (${routed.reason}): ${routed.message}`, {
        'retry-after': String(routed.retryAfterSeconds),
      });
    }
    answer =
      routed.tier === 'regional'
        ? { label: routed.regional.label, scores: routed.regional.scores, model: routed.regional.model, tier: 'regional', degraded: false, cached: false, timings: {} }
        : {
            label: routed.edge.label,
            scores: routed.edge.scores,
            model: identity,
            tier: 'edge',
            degraded: routed.degraded,
            ...(routed.degraded ? { reason: routed.reason } : {}),
            cached: false,
            timings: {},
          };
    if (call) answer.escalation = { cause: call.cause, outcome: call.outcome, ms: Math.round(call.ms * 1000) / 1000 };
  }
  const timings = timer.snapshot();
  answer.timings = timings;
  return jsonResponse(answer, 200, { 'server-timing': StageTimer.header(timings) });
}
