// POST /v1/predict: the product's own endpoint, for every model. In: the model's inputs by
// name ({"inputs": {name: nested array | {data, shape}}}), its text ({"text": ...}) where a
// preprocessing makes inputs from text, token ids the client made itself ({"ids": [...],
// "preprocessing": {id, version}}), request fields ({"fields": {...}}). The model's signature
// assembles every graph input (LoadedModel.assemble). Out, by the output's kind:
// `label`/`scores` (classification), `value`/`values` (regression) or `outputs` (raw), always
// with model identity, tier, cache state and stage timings (also as Server-Timing).
// Classification models with a regional pair go through the cascade router (core/router)
// when the request has text or fields (the regional request carries them; the regional model
// assembles its own inputs from them, core/regional); ids only escalate with their text.
import type { CoreRequest } from '../http/core-request.ts';
import type { CachedRegionalPrediction } from '../cache/cached-regional-tier.ts';
import type { CachePolicyMode } from '../cache/policy.ts';
import { isAnswerFor, type CachedAnswer } from '../cache/prediction-values.ts';
import type { CacheLevel, CacheTrace, L2Status } from '../cache/two-level-cache.ts';
import { EngineError } from '../engine/ort-session.ts';
import type { TensorMap } from '../engine/types.ts';
import type { RequestContext } from '../handler.ts';
import type { FeatureValueSource } from '../features/feature-assembler.ts';
import { rejectUnknownKeys, readJsonBody, requireObject } from '../http/body.ts';
import { HttpError } from '../http/errors.ts';
import { JsonReply } from '../http/reply.ts';
import { StageTimer } from '../http/timing.ts';
import { assessConfidence } from '../router/confidence.ts';
import { requireText, textFeedsOf } from '../serving/inputs.ts';
import type { AssembledInputs, LoadedModel } from '../serving/loaded-model.ts';
import type { RawAnswer } from '../serving/model-io.ts';
import type { RequestShape, ServiceContext } from '../service-context.ts';
import { requireFields } from './predict-fields.ts';
import { describeAccepted, prepareRequest } from './predict-request.ts';
import { randomHex8 } from '../http/random-id.ts';

const PREDICT_FIELDS = ['text', 'ids', 'preprocessing', 'inputs', 'fields', 'model', 'explain'] as const;

/** The JSON answer of /v1/predict. */
export interface PredictResponse {
  /** What the model's output is (model.json `output.kind`): which answer fields are present. */
  kind?: 'classification' | 'regression' | 'raw';
  /** Classification: the winning label and the probability of every label. */
  label?: string;
  scores?: Record<string, number>;
  /** Classification of a batch of more than one row: every row. */
  batch?: Array<{ label: string; scores: Record<string, number> }>;
  /** Regression: the value when the output holds one number; `values` always (row-major). */
  value?: number;
  values?: number[];
  /** Regression with `output.names`: name → value. */
  named?: Record<string, number>;
  /** Raw: every output as a KServe V2 JSON tensor. */
  outputs?: RawAnswer['outputs'];
  model: { name: string; version: string; sha256: string };
  tier: 'edge' | 'regional';
  /** True when the cascade wanted the regional answer and could not get it, or feature values came from defaults. */
  degraded: boolean;
  /** Why the answer is degraded: timeout, function_error, throttled, circuit_open, text_required, features_unavailable, ... */
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

/** The answer of the model a request named, with the probabilities the cascade reads. */
interface EdgeRun {
  answer: CachedAnswer;
  probabilities: number[];
}

/** Handles POST /v1/predict. */
export async function handlePredict(request: CoreRequest, service: ServiceContext, context: RequestContext = {}): Promise<JsonReply> {
  const timer = new StageTimer();
  const body = requireObject(await timer.time('parse', () => readJsonBody(request, service.config.maxBodyBytes, context.body)));
  rejectUnknownKeys(body, PREDICT_FIELDS, 'the request body');
  if (body.text !== undefined && body.ids !== undefined) {
    throw new HttpError(400, 'invalid_request', 'send either "text" or "ids" (with "preprocessing"), not both');
  }
  if (body.ids !== undefined && body.inputs !== undefined) throw new HttpError(400, 'invalid_request', 'send either "ids" or "inputs", not both');
  // No text, ids, inputs or fields: read as a text request, so the 400 says what to send.
  const text = body.text !== undefined || (body.ids === undefined && body.inputs === undefined && body.fields === undefined) ? requireText(body.text) : undefined;
  const fields = body.fields === undefined ? undefined : requireFields(body.fields);
  if (body.explain !== undefined && typeof body.explain !== 'boolean') throw new HttpError(400, 'invalid_request', 'field "explain" must be true or false');
  const sends: RequestShape = body.inputs !== undefined ? 'inputs' : fields !== undefined ? 'fields' : 'text';
  const modelName = body.model === undefined ? await service.defaultModel(sends) : body.model;
  if (typeof modelName !== 'string') throw new HttpError(400, 'invalid_request', 'field "model" must be a string naming a model');

  // A rollout picks the version (sticky by the request's key header); otherwise the latest serves.
  const version = service.rollout?.versionFor(modelName, request, text);
  const model = version === undefined ? await service.requireModel(modelName) : await service.requireModelVersion(modelName, version);
  const { manifest } = model;
  const identity = { name: manifest.name, version: manifest.version, sha256: manifest.sha256 };
  const prepared = prepareRequest(model, text, body, fields);
  const caching = service.caching;
  const facts = factsOf(model);
  const { hasFeatureInputs } = facts;
  // The text inputs are made only on a cache miss: the key hashes the text itself (the
  // model's fingerprint binds the preprocessing that makes them). A text-only model (the spam
  // models) sent text has nothing else to assemble: the hot path skips it.
  const textOnly = model.signature.textOnly && !prepared.request.tensors;
  const assembled: Pick<AssembledInputs, 'feeds' | 'features' | 'degraded'> = textOnly
    ? { feeds: {} }
    : hasFeatureInputs
      ? await timer.time('features', () => model.assemble(prepared.request, { deferText: true }))
      : await model.assemble(prepared.request, { deferText: true });
  const deferred = textOnly ? model.signature.textInputs : model.signature.textInputs.filter((i) => !(i.name in assembled.feeds));
  if (deferred.length && text === undefined) {
    throw new HttpError(400, 'invalid_request', `${manifest.name}@${manifest.version} needs "text" (its input "${deferred[0]?.name}" is made from it); it takes ${describeAccepted(model)}`);
  }
  // Views keyed by the text are read alongside the model (one round trip for every view), not
  // before it, and only when the answer is to show them. Never rejects in practice; the guard
  // keeps a surprise from becoming an unhandled rejection. Ids carry no sender.
  const featuresFetch = body.explain === true && text !== undefined && !hasFeatureInputs ? service.features?.explainText?.(text).catch(() => undefined) : undefined;
  const hashOfText = caching && text !== undefined ? timer.time('hash', () => caching.hashText(text)) : undefined;
  // A key over tensors (fields, features, request inputs) hashes their bytes: timed as well.
  const edgeKey = !caching ? undefined : hashOfText !== undefined && textOnly ? caching.edgeKey(manifest, assembled.feeds, hashOfText) : timer.time('hash', () => caching.edgeKey(manifest, assembled.feeds, hashOfText));

  const compute = async (): Promise<CachedAnswer> => {
    let feeds: TensorMap = assembled.feeds;
    if (deferred.length) {
      const made = await timer.time('preprocess', () => textFeedsOf(model, text as string));
      feeds = { ...feeds };
      for (const spec of deferred) feeds[spec.name] = made[spec.name] as TensorMap[string];
    }
    return toCached(model, await timer.time('infer', () => runModel(model, feeds)));
  };
  let edgeTrace: CacheTrace | undefined;
  const runEdge = async (): Promise<EdgeRun> => {
    let answer: CachedAnswer;
    if (caching && edgeKey !== undefined) {
      const cached = await caching.cache.getOrCompute({
        key: edgeKey,
        tier: 'edge',
        ttlSeconds: manifest.cache.ttlSeconds,
        compute,
        // A value of another shape, kind or labels under this key (L1 or L2) is a miss, never an answer.
        isValid: facts.isValid,
        ...(context.waitUntil ? { waitUntil: context.waitUntil } : {}),
      });
      edgeTrace = cached.trace;
      if (cached.trace.l2Ms > 0) timer.record('cacheL2', cached.trace.l2Ms);
      answer = cached.value;
    } else {
      answer = await compute();
    }
    const scores = 'scores' in answer ? answer.scores : undefined;
    return { answer, probabilities: scores ? manifest.labels.map((label) => scores[label] as number) : [] };
  };
  let regionalTrace: CacheTrace | undefined;

  // Only a classification output cascades (the manifest allows a pair on no other), and the
  // regional tier reads text or fields: other requests (client tensors) answer at the edge.
  const route = service.cascade.routeFor(manifest);
  const cascades = route !== undefined && (text !== undefined || prepared.clientIds !== undefined || fields !== undefined);
  // The free L1 look needs the whole regional input: text alone (fields requests are looked up on the escalation path).
  const regionalInL1 = caching && route && hashOfText !== undefined && fields === undefined ? await caching.peekRegional(route.regionalModel, hashOfText) : undefined;
  let answer: PredictResponse;
  if (!route || !cascades) {
    const result = await runEdge();
    answer = edgeAnswer(result.answer, identity);
  } else if (text === undefined && prepared.clientIds !== undefined) {
    // Ids only: the regional model reads its own preprocessing of the raw text, which the
    // edge ids cannot give back. A confident edge answer stands; otherwise the answer says
    // text_required and the client decides whether the text may leave the device.
    const result = await runEdge();
    const { confident } = assessConfidence(result.probabilities, route.router.policy.confidence);
    answer = edgeAnswer(result.answer, identity);
    if (!confident) Object.assign(answer, { degraded: true, reason: 'text_required' });
  } else if (regionalInL1) {
    // The regional answer is already in L1: no model runs, no call, no Redis.
    const regional = regionalInL1.prediction;
    regionalTrace = { level: 'l1', l1: 'hit', l2: 'not_asked', l2Ms: 0, shared: false, why: 'regional answer in L1' };
    answer = { kind: 'classification', label: regional.label, scores: regional.scores, model: regional.model, tier: 'regional', degraded: false, cached: false, timings: {} };
  } else {
    const requestId = request.headers.get('x-request-id')?.slice(0, 128) || nextRequestId();
    const regionalRequest = { model: route.regionalModel, ...(text !== undefined ? { text } : {}), ...(fields ? { fields } : {}), requestId };
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
    if (routed.tier === 'regional') {
      answer = { kind: 'classification', label: routed.regional.label, scores: routed.regional.scores, model: routed.regional.model, tier: 'regional', degraded: false, cached: false, timings: {} };
      // The regional function's own feature store was slow or down: its answer stands, on defaults.
      if (routed.regional.degraded) Object.assign(answer, { degraded: true, reason: routed.regional.degraded });
    } else {
      answer = edgeAnswer(routed.edge.answer, identity);
      if (routed.degraded) Object.assign(answer, { degraded: true, reason: routed.reason });
    }
    if (call) answer.escalation = { cause: call.cause, outcome: call.outcome, ms: Math.round(call.ms * 1000) / 1000 };
    if (routed.tier === 'regional') {
      regionalTrace = (routed.regional as CachedRegionalPrediction).cache;
      if (regionalTrace && regionalTrace.l2Ms > 0) timer.record('cacheL2', regionalTrace.l2Ms);
    }
  }
  // Feature values from defaults (the store slow or absent) mark an edge answer degraded.
  if (assembled.degraded && answer.tier === 'edge' && !answer.degraded) Object.assign(answer, { degraded: true, reason: assembled.degraded });
  if (body.explain === true) {
    const fetched = featuresFetch ? await featuresFetch : undefined;
    if (fetched) timer.record('features', fetched.ms ?? 0);
    const explained = fetched?.explain ?? assembled.features;
    if (explained) answer.features = explained as NonNullable<PredictResponse['features']>;
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
  service.telemetry?.recordPrediction({ ...answer, label: answer.label ?? `(${answer.kind})` });
  return new JsonReply(answer, 200, { 'server-timing': StageTimer.header(timings) + serverTiming });
}

/** What the route reads of a model on every request, computed once per loaded model. */
interface ModelFacts {
  hasFeatureInputs: boolean;
  isValid: (value: unknown) => value is CachedAnswer;
}

const modelFacts = new WeakMap<LoadedModel, ModelFacts>();

function factsOf(model: LoadedModel): ModelFacts {
  let facts = modelFacts.get(model);
  if (!facts) {
    const { manifest } = model;
    const outputNames = manifest.outputs.map((o) => o.name);
    facts = {
      hasFeatureInputs: manifest.inputs.some((i) => i.source === 'features' || i.source === 'embedding'),
      isValid: (value): value is CachedAnswer => isAnswerFor(value, manifest.output, outputNames),
    };
    modelFacts.set(model, facts);
  }
  return facts;
}

/** Runs the graph; inputs that passed every declared check yet the graph refused are the request's fault (400), as Triton answers it. */
async function runModel(model: LoadedModel, feeds: TensorMap): Promise<TensorMap> {
  try {
    return await model.run(feeds);
  } catch (error) {
    if (error instanceof EngineError && error.code === 'run_failed') {
      throw new HttpError(400, 'invalid_request', `${model.manifest.name} could not run on these inputs: ${error.message.slice(0, 400)}`);
    }
    throw error;
  }
}

/** The model's answer as it is cached: no raw tensors for a classification or a regression. */
function toCached(model: LoadedModel, outputs: TensorMap): CachedAnswer {
  const answer = model.interpret(outputs);
  if (answer.kind === 'classification') {
    // Plain objects: what JSON gives back from L2 is what L1 holds.
    return { label: answer.label, scores: { ...answer.scores }, confidence: answer.confidence, ...(answer.batch ? { batch: answer.batch.map((row) => ({ label: row.label, scores: { ...row.scores } })) } : {}) };
  }
  if (answer.kind === 'regression') {
    return { kind: 'regression', values: answer.values, ...(answer.value !== undefined ? { value: answer.value } : {}), ...(answer.named ? { named: { ...answer.named } } : {}) };
  }
  return { kind: 'raw', outputs: { ...answer.outputs } };
}

/** The JSON answer of the model the request named (its kind is the cached answer's). */
function edgeAnswer(cached: CachedAnswer, model: PredictResponse['model']): PredictResponse {
  const base = { model, tier: 'edge' as const, degraded: false, cached: false, timings: {} };
  if ('scores' in cached) {
    return { kind: 'classification', label: cached.label, scores: cached.scores, ...(cached.batch ? { batch: cached.batch } : {}), ...base };
  }
  if (cached.kind === 'regression') {
    return { kind: 'regression', ...(cached.value !== undefined ? { value: cached.value } : {}), values: cached.values, ...(cached.named ? { named: cached.named } : {}), ...base };
  }
  return { kind: 'raw', outputs: cached.outputs, ...base };
}

// Request ids for the regional call and its logs when the client sent none: unique in this
// isolate (a counter) and across isolates (a random prefix), far cheaper than a UUID each.
// The prefix is drawn on first use: some edge runtimes refuse randomness at module scope.
let isolatePrefix: string | undefined;
let requestSeq = 0;
function nextRequestId(): string {
  isolatePrefix ??= randomHex8();
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

