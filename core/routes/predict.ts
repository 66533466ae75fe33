// POST /v1/predict: the product's own endpoint. {"text": "..."} (or ids the client
// preprocessed itself, {"ids": [...], "preprocessing": {id, version}}) in; label, scores,
// model identity, tier, cache state and stage timings out (also as Server-Timing). Edge
// models with a regional pair go through the cascade router (core/router).
import type { CoreRequest } from '../http/core-request.ts';
import type { CachedRegionalPrediction } from '../cache/cached-regional-tier.ts';
import { isClassificationOf } from '../cache/prediction-values.ts';
import type { CachePolicyMode } from '../cache/policy.ts';
import type { CacheLevel, CacheTrace, L2Status } from '../cache/two-level-cache.ts';
import type { RequestContext } from '../handler.ts';
import type { FeatureValueSource } from '../features/feature-assembler.ts';
import { rejectUnknownKeys, readJsonBody, requireObject } from '../http/body.ts';
import { HttpError } from '../http/errors.ts';
import { JsonReply } from '../http/reply.ts';
import { StageTimer } from '../http/timing.ts';
import { assessConfidence } from '../router/confidence.ts';
import { requireClientIds, requireText } from '../serving/inputs.ts';
import type { ServiceContext } from '../service-context.ts';
import { predictFromFields, requireFields } from './predict-fields.ts';

const PREDICT_FIELDS = ['text', 'ids', 'preprocessing', 'model', 'explain', 'fields'] as const;

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
  /** True when the answer came from the prediction cache (then `cache.level` says which). */
  cached: boolean;
  /** Present when the service has a cache: the level that answered, what L2 did, the policy. */
  cache?: { level: CacheLevel | null; l2: L2Status; policy: CachePolicyMode };
  /** With `"explain": true`: the feature views of the request, per view (entity, where the value came from, the value). */
  features?: Record<string, { entity: string | null; source: FeatureValueSource; values?: Record<string, number> }>;
  timings: Record<string, number>;
}

/** What the edge model's answer is cached as (no raw tensors). */
interface EdgeAnswer {
  label: string;
  scores: Record<string, number>;
  confidence: number;
}

/** Handles POST /v1/predict. */
export async function handlePredict(request: CoreRequest, service: ServiceContext, context: RequestContext = {}): Promise<JsonReply> {
  const timer = new StageTimer();
  const body = requireObject(await timer.time('parse', () => readJsonBody(request, service.config.maxBodyBytes, context.body)));
  rejectUnknownKeys(body, PREDICT_FIELDS, 'the request body');
  if (body.text !== undefined && body.ids !== undefined) {
    throw new HttpError(400, 'invalid_request', 'send either "text" or "ids" (with "preprocessing"), not both');
  }
  if (body.fields !== undefined) {
    // Tabular request: no text; the signature assembles fields, feature views and embeddings.
    if (body.text !== undefined || body.ids !== undefined) throw new HttpError(400, 'invalid_request', 'send "fields" without "text" or "ids"');
    if (body.explain !== undefined && typeof body.explain !== 'boolean') throw new HttpError(400, 'invalid_request', 'field "explain" must be true or false');
    const fields = requireFields(body.fields);
    const name = body.model === undefined ? await service.defaultModel('fields') : body.model;
    if (typeof name !== 'string') throw new HttpError(400, 'invalid_request', 'field "model" must be a string naming a model');
    const answer = await predictFromFields(await service.requireModel(name), fields, body.explain === true, service, timer, context);
    const timings = timer.snapshot();
    answer.timings = timings;
    service.telemetry?.recordPrediction(answer);
    return new JsonReply(answer, 200, { 'server-timing': StageTimer.header(timings) });
  }
  const text = body.ids === undefined ? requireText(body.text) : undefined;
  const modelName = body.model === undefined ? await service.defaultModel('text') : body.model;
  if (typeof modelName !== 'string') throw new HttpError(400, 'invalid_request', 'field "model" must be a string naming a model');

  // A rollout picks the version (sticky by the request's key header); otherwise the latest serves.
  const version = service.rollout?.versionFor(modelName, request, text);
  const model = version === undefined ? await service.requireModel(modelName) : await service.requireModelVersion(modelName, version);
  const identity = { name: model.manifest.name, version: model.manifest.version, sha256: model.manifest.sha256 };
  const clientIds = text === undefined ? requireClientIds(body.ids, body.preprocessing, model) : undefined;
  if (body.explain !== undefined && typeof body.explain !== 'boolean') throw new HttpError(400, 'invalid_request', 'field "explain" must be true or false');
  // Views keyed by the text are read alongside the model (one round trip for every view), not
  // before it, and only when the answer is to show them. Never rejects in practice; the guard
  // keeps a surprise from becoming an unhandled rejection. Ids carry no sender.
  const featuresFetch = body.explain === true && text !== undefined ? service.features?.explainText?.(text).catch(() => undefined) : undefined;
  const caching = service.caching;
  // The key hashes what the model is fed: the ids as a tensor, or the text its preprocessing
  // tokenises (bound by the fingerprint); so ids and text never share a key.
  const fed = model.signature.textInputs[0]?.name;
  const edgeKey =
    caching && fed !== undefined
      ? timer.time('hash', () =>
          clientIds ? caching.edgeKey(model.manifest, { [fed]: { dtype: 'int32', dims: [1, clientIds.length], data: clientIds } }, undefined, [fed]) : caching.edgeKey(model.manifest, {}, text, [fed]),
        )
      : undefined;
  let edgeTrace: CacheTrace | undefined;
  const classify = async (): Promise<EdgeAnswer> => {
    const ids = clientIds ?? (await timer.time('preprocess', () => model.preprocessor.toIds(text as string)));
    const { label, scores, confidence } = await timer.time('infer', () => model.classifyIds(ids));
    return { label, scores, confidence };
  };
  const runEdge = async () => {
    let result: EdgeAnswer;
    if (caching && edgeKey !== undefined) {
      const labels = model.manifest.labels;
      const cached = await caching.cache.getOrCompute({
        key: edgeKey,
        tier: 'edge',
        ttlSeconds: model.manifest.cache.ttlSeconds,
        compute: classify,
        // A value of another shape or labels under this key is a miss, never an answer.
        isValid: (value): value is EdgeAnswer => isClassificationOf(value, labels),
        ...(context.waitUntil ? { waitUntil: context.waitUntil } : {}),
      });
      result = cached.value;
      edgeTrace = cached.trace;
      if (cached.trace.l2Ms > 0) timer.record('cacheL2', cached.trace.l2Ms);
    } else {
      result = await classify();
    }
    return { ...result, probabilities: model.manifest.labels.map((label) => result.scores[label] as number) };
  };
  let regionalTrace: CacheTrace | undefined;

  const route = service.cascade.routeFor(model.manifest);
  const regionalInL1 = caching && route && text !== undefined ? await caching.peekRegional(route.regionalModel, text) : undefined;
  let answer: PredictResponse;
  if (!route) {
    const result = await runEdge();
    answer = { label: result.label, scores: result.scores, model: identity, tier: 'edge', degraded: false, cached: false, timings: {} };
  } else if (text === undefined) {
    // Ids only: the regional model reads its own preprocessing of the raw text, which the
    // edge ids cannot give back. A confident edge answer stands; otherwise the answer says
    // text_required and the client decides whether the text may leave the device.
    const result = await runEdge();
    const { confident } = assessConfidence(result.probabilities, route.router.policy.confidence);
    answer = {
      label: result.label,
      scores: result.scores,
      model: identity,
      tier: 'edge',
      degraded: !confident,
      ...(confident ? {} : { reason: 'text_required' }),
      cached: false,
      timings: {},
    };
  } else if (regionalInL1) {
    // The regional answer is already in L1: no model runs, no call, no Redis.
    const regional = regionalInL1.prediction;
    regionalTrace = { level: 'l1', l1: 'hit', l2: 'not_asked', l2Ms: 0, shared: false, why: 'regional answer in L1' };
    answer = { label: regional.label, scores: regional.scores, model: regional.model, tier: 'regional', degraded: false, cached: false, timings: {} };
  } else {
    const requestId = request.headers.get('x-request-id')?.slice(0, 128) || nextRequestId();
    const regionalRequest = { model: route.regionalModel, text, requestId };
    const routed = caching
      ? await caching.withRequest(requestId, context.waitUntil, () => route.router.route({ runEdge, regionalRequest }))
      : await route.router.route({ runEdge, regionalRequest });
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
    if (routed.tier === 'regional') {
      regionalTrace = (routed.regional as CachedRegionalPrediction).cache;
      if (regionalTrace && regionalTrace.l2Ms > 0) timer.record('cacheL2', regionalTrace.l2Ms);
    }
  }
  const fetched = featuresFetch ? await featuresFetch : undefined;
  if (fetched) {
    timer.record('features', fetched.ms ?? 0);
    answer.features = fetched.explain as NonNullable<PredictResponse['features']>;
  }
  let serverTiming = '';
  if (caching) {
    // The trace of the tier whose answer is served; both tell whether L2 was skipped.
    const level = (answer.tier === 'regional' ? regionalTrace : edgeTrace)?.level ?? null;
    answer.cached = level !== null;
    answer.cache = { level, l2: worstL2(regionalTrace, edgeTrace), policy: caching.cache.policy.mode };
    serverTiming = `, cache;desc="${level ?? 'miss'}${isSkip(answer.cache.l2) ? ` l2 ${answer.cache.l2}` : ''}"`;
  }
  const timings = timer.snapshot();
  answer.timings = timings;
  service.telemetry?.recordPrediction(answer);
  return new JsonReply(answer, 200, { 'server-timing': StageTimer.header(timings) + serverTiming });
}

// Request ids for the regional call and its logs when the client sent none: unique in this
// isolate (a counter) and across isolates (a random prefix), far cheaper than a UUID each.
// The prefix is drawn on first use: some edge runtimes refuse randomness at module scope.
let isolatePrefix: string | undefined;
let requestSeq = 0;
function nextRequestId(): string {
  isolatePrefix ??= crypto.randomUUID().slice(0, 8);
  return `${isolatePrefix}-${(++requestSeq).toString(36)}`;
}

const SKIPS: readonly L2Status[] = ['over_budget', 'unavailable', 'circuit_open'];

function isSkip(status: L2Status): boolean {
  return SKIPS.includes(status);
}

/** What L2 did for this request: a skip (Redis slow or down) wins, so the response always says so. */
function worstL2(...traces: Array<CacheTrace | undefined>): L2Status {
  const statuses = traces.filter((t): t is CacheTrace => t !== undefined).map((t) => t.l2);
  return statuses.find(isSkip) ?? statuses.find((s) => s === 'hit') ?? statuses[0] ?? 'not_asked';
}
