// What the regional function does, independent of where it runs: validate an Invoke
// payload, load the named model version once, run it through the model's own input assembly
// (any text preprocessing, as /v1/predict; request fields, the feature values the edge
// forwarded, and the other feature views from the function's own feature source), answer a
// RegionalPrediction (marked `degraded` when feature values came from defaults). The
// AWS Lambda handler (adapters/aws-lambda) and the in-process tier of `npm start` both
// wrap this, so the two regional tiers answer identically.
import type { EngineRegistry } from '../engine/registry.ts';
import type { EngineName, Tensor, TensorMap } from '../engine/types.ts';
import type { FeatureAssembler } from '../features/feature-assembler.ts';
import { HttpError } from '../http/errors.ts';
import { latestVersions, type ModelSource } from '../model/repository.ts';
import type { RegionalPrediction, RegionalRequest } from '../router/regional-tier.ts';
import { requireIds, requireText, textFeedsOf } from '../serving/inputs.ts';
import { loadModel, type ClassificationAnswer, type LoadedModel } from '../serving/loaded-model.ts';
import { forwardedFeatureTensor } from '../serving/forwarded-inputs.ts';
import { asTextInput } from '../serving/model-io.ts';
import { requireFields } from '../routes/predict-fields.ts';

/** Error types the regional function reports (Lambda's `errorType` is the error's name). */
export type RegionalErrorType = 'InvalidRequest' | 'ModelNotFound' | 'ModelNotReady' | 'DeadlineExceeded' | 'InferenceFailed';

/** A failure with a stable `name`, so Lambda reports {errorType, errorMessage} a caller can act on. */
export class RegionalFunctionError extends Error {
  constructor(
    readonly type: RegionalErrorType,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

/** Where the predictor gets models and engines from. */
export interface RegionalPredictorOptions {
  models: ModelSource;
  engines: EngineRegistry;
  ortPreference: readonly EngineName[];
  /** Provider that ran a model ("cpu", "cuda"); asked once per loaded model. */
  executionProviderOf?: (model: LoadedModel) => Promise<string> | string;
  /** Models whose load is started at creation (cold start before the first request). */
  preload?: string[];
  /** Feature views of the function's own store (Upstash near the region); without one, values the edge did not forward take their defaults, answers marked degraded. */
  features?: FeatureAssembler;
}

/** Runs regional predictions; `predict` rejects only with RegionalFunctionError. */
export interface RegionalPredictor {
  predict(payload: unknown): Promise<RegionalPrediction & { requestId: string; coldStart: boolean }>;
  /** Releases every loaded session. */
  close(): Promise<void>;
}

const FIELDS = ['model', 'version', 'text', 'ids', 'fields', 'features', 'requestId', 'deadlineMs'];

interface ServedModel {
  model: LoadedModel;
  executionProvider: string;
}

/** Creates the predictor. Each model version loads once and is reused by later requests. */
export function createRegionalPredictor(options: RegionalPredictorOptions): RegionalPredictor {
  const loaded = new Map<string, Promise<ServedModel>>();
  let catalog: Promise<Map<string, string>> | undefined;
  const latest = () => (catalog ??= latestVersions(options.models).then((list) => new Map(list.map((m) => [m.name, m.version]))));

  async function resolveVersion(name: string, version: string | undefined): Promise<string> {
    const versions = await latest().catch((error: unknown) => {
      catalog = undefined; // a repository read error may be transient: retry next time
      throw new RegionalFunctionError('ModelNotReady', `model repository cannot be listed: ${(error as Error).message}`);
    });
    const newest = versions.get(name);
    if (newest === undefined) {
      throw new RegionalFunctionError('ModelNotFound', `unknown model "${name.slice(0, 100)}"; this function serves: ${[...versions.keys()].join(', ') || 'none'}`);
    }
    return version ?? newest;
  }

  function serve(name: string, version: string): { served: Promise<ServedModel>; cold: boolean } {
    const key = `${name}@${version}`;
    const existing = loaded.get(key);
    if (existing) return { served: existing, cold: false };
    const served = loadModel(options.models, name, version, options.engines, options.ortPreference, options.features ? { features: options.features } : {}).then(async (model) => ({
      model,
      executionProvider: options.executionProviderOf ? await options.executionProviderOf(model) : model.engine,
    }));
    // A failed load is forgotten so the next invocation retries (the file may have been fixed).
    served.catch(() => loaded.delete(key));
    loaded.set(key, served);
    return { served, cold: true };
  }

  for (const name of options.preload ?? []) {
    void resolveVersion(name, undefined)
      .then((version) => serve(name, version).served)
      .catch(() => {}); // reported by the first request that needs it
  }

  return {
    async predict(payload) {
      const t0 = performance.now();
      const request = parseRegionalRequest(payload);
      const version = await resolveVersion(request.model, request.version);
      const { served, cold } = serve(request.model, version);
      let model: ServedModel;
      try {
        model = await served;
      } catch (error) {
        const message = (error as Error).message;
        if (/cannot read model\.json/.test(message) && request.version !== undefined) {
          throw new RegionalFunctionError('ModelNotFound', `model ${request.model} has no version "${request.version.slice(0, 40)}": ${message}`);
        }
        throw new RegionalFunctionError('ModelNotReady', `model ${request.model}@${version} cannot be served: ${message}`);
      }
      const tLoaded = performance.now();
      // Past the caller's deadline the answer is thrown away: skip the inference.
      if (Date.now() > request.deadlineMs) {
        throw new RegionalFunctionError('DeadlineExceeded', `deadline ${new Date(request.deadlineMs).toISOString()} passed before inference started`);
      }
      const { feeds, degraded } = await inputsOf(request, model.model);
      const tPre = performance.now();
      let result;
      try {
        result = classificationOf(model.model, await model.model.run(feeds));
      } catch (error) {
        throw new RegionalFunctionError('InferenceFailed', `${request.model}@${version}: inference failed: ${(error as Error).message}`);
      }
      const tEnd = performance.now();
      const { manifest } = model.model;
      return {
        label: result.label,
        scores: result.scores,
        model: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 },
        timings: { load: round(tLoaded - t0), preprocess: round(tPre - tLoaded), infer: round(tEnd - tPre), total: round(tEnd - t0) },
        executionProvider: model.executionProvider,
        ...(degraded ? { degraded } : {}),
        requestId: request.requestId,
        coldStart: cold,
      };
    },
    async close() {
      for (const served of loaded.values()) await served.then((s) => s.model.release()).catch(() => {});
      loaded.clear();
    },
  };
}

/** Validates an Invoke payload; throws InvalidRequest naming the field. */
export function parseRegionalRequest(payload: unknown): RegionalRequest {
  const invalid = (message: string) => new RegionalFunctionError('InvalidRequest', message);
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalid('the payload must be a JSON object {model, version?, text | ids, fields?, features?, requestId, deadlineMs}');
  }
  const p = payload as Record<string, unknown>;
  const unknown = Object.keys(p).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) throw invalid(`unknown field(s) ${unknown.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}; allowed: ${FIELDS.join(', ')}`);
  if (typeof p.model !== 'string' || p.model === '') throw invalid('field "model" must be a non-empty string');
  if (p.version !== undefined && (typeof p.version !== 'string' || p.version === '')) throw invalid('field "version" must be a non-empty string when present');
  if (typeof p.requestId !== 'string' || p.requestId === '') throw invalid('field "requestId" must be a non-empty string');
  if (typeof p.deadlineMs !== 'number' || !Number.isFinite(p.deadlineMs)) throw invalid('field "deadlineMs" must be epoch milliseconds (a number)');
  if (p.text !== undefined && p.ids !== undefined) throw invalid('send "text" or "ids", not both');
  if (p.text === undefined && p.ids === undefined && p.fields === undefined) throw invalid('send "text", "ids" or "fields"');
  if (p.fields !== undefined) {
    try {
      requireFields(p.fields);
    } catch (error) {
      throw invalid((error as Error).message);
    }
  }
  if (p.features !== undefined) {
    const f = p.features;
    if (typeof f !== 'object' || f === null || Array.isArray(f) || Object.keys(f).length > 64) throw invalid('field "features" must be an object of at most 64 inputs, each an array of numbers');
    for (const [name, values] of Object.entries(f)) {
      if (!Array.isArray(values) || values.length > 4096 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw invalid(`features.${name.slice(0, 40)} must be an array of at most 4096 finite numbers`);
      }
    }
  }
  if (p.text !== undefined) {
    try {
      requireText(p.text);
    } catch (error) {
      throw invalid((error as Error).message);
    }
  } else if (p.ids !== undefined && !Array.isArray(p.ids)) {
    throw invalid('field "ids" must be an array of integers');
  }
  return p as unknown as RegionalRequest;
}

/**
 * Every graph input of the request: text goes through the model's own assembly (any text
 * preprocessing: email-hash, a Hugging Face tokenizer, ...), as /v1/predict does, and so do
 * fields (numeric inputs, entity keys of the feature views); forwarded feature values are
 * used as given, the other feature inputs read from this function's feature source. Client
 * ids only where one preprocessing makes the single text input from text alone (email-hash).
 */
async function inputsOf(request: RegionalRequest, model: LoadedModel): Promise<{ feeds: TensorMap; degraded?: string }> {
  try {
    if (request.text !== undefined || request.ids === undefined) {
      const { text } = request;
      if (text !== undefined && !model.signature.textInputs.length) throw new HttpError(400, 'invalid_request', `${label(model)} takes no text`);
      // Text inputs are made once, through the route's own guard (a too-long text is a 400).
      const assembled = await model.assemble(
        { ...(text !== undefined ? { text } : {}), ...(request.fields ? { fields: request.fields } : {}), ...forwardedFeatures(request, model) },
        { deferText: true },
      );
      const missingText = model.signature.textInputs.filter((i) => !(i.name in assembled.feeds));
      if (missingText.length && text === undefined) throw new HttpError(400, 'invalid_request', `${label(model)} needs "text" (its input "${missingText[0]?.name}" is made from it)`);
      const feeds = missingText.length ? { ...assembled.feeds, ...textFeedsOf(model, text as string) } : assembled.feeds;
      return { feeds, ...(assembled.degraded ? { degraded: assembled.degraded } : {}) };
    }
    const first = model.signature.textInputs[0];
    if (!first || !model.textPreprocessor?.toIds || model.signature.textInputs.length !== 1) {
      throw new HttpError(400, 'invalid_request', `${label(model)} takes no client token ids; send "text"`);
    }
    const ids = requireIds(request.ids, model);
    return { feeds: { [first.name]: asTextInput({ dtype: 'int32', dims: [1, ids.length], data: ids }, first) } };
  } catch (error) {
    if (error instanceof HttpError) throw new RegionalFunctionError('InvalidRequest', error.message);
    throw error;
  }
}

/** The feature values the edge forwarded, as tensors of this model's feature inputs (400 naming one that does not fit). */
function forwardedFeatures(request: RegionalRequest, model: LoadedModel): { features?: Record<string, Tensor> } {
  const given = request.features;
  if (!given) return {};
  const features: Record<string, Tensor> = {};
  for (const name of Object.keys(given)) {
    const spec = model.manifest.inputs.find((i) => i.name === name);
    if (!spec || (spec.source !== 'features' && spec.source !== 'embedding')) throw new HttpError(400, 'invalid_request', `${label(model)} has no feature input ${JSON.stringify(name.slice(0, 40))}`);
    const tensor = forwardedFeatureTensor(spec, given[name]);
    if (!tensor) throw new HttpError(400, 'invalid_request', `features.${name} must hold the ${spec.shape.join('x')} values of input "${name}"`);
    features[name] = tensor;
  }
  return { features };
}

/** The classification answer of a run, read by model.json's output meaning (as the edge reads it). */
function classificationOf(model: LoadedModel, outputs: TensorMap): ClassificationAnswer {
  const answer = model.interpret(outputs);
  if (answer.kind !== 'classification') throw new Error(`${label(model)} is not a classifier (output kind "${answer.kind}")`);
  return answer;
}

function label(model: LoadedModel): string {
  return `${model.manifest.name}@${model.manifest.version}`;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
