// A model version that is loaded, verified and warmed up: its signature, an engine session,
// and the two generic halves of a request around it: `assemble` (every graph input from the
// request's tensors, text, fields, feature views, constants and defaults) and `interpret`
// (outputs read by what model.json says they mean). A model is ready only after its warmup
// requests succeeded (as in Triton); they come from model.json `warmup` or are built from
// the declared dtypes and shapes.
import type { EngineRegistry } from '../engine/registry.ts';
import { loadOnPreferredEngine } from '../engine/select.ts';
import type { EngineName, EngineSession, Tensor, TensorMap } from '../engine/types.ts';
import type { FeatureAssembler } from '../features/feature-assembler.ts';
import { HttpError } from '../http/errors.ts';
import type { FeatureInputSpec, InputSpec, ModelManifest, OutputMeaning, TensorSpec, TextInputSpec, WarmupRequest } from '../model/manifest.ts';
import { loadVerifiedModel, type ModelSource } from '../model/repository.ts';
import { createTextPreprocessor, type Preprocessor, type TextPreprocessor } from '../preprocess/index.ts';
import { fieldsTensor } from './forwarded-inputs.ts';
import { V2_DATATYPE } from './tensor-dtypes.ts';
import {
  asTextInput,
  concreteDims,
  constantTensor,
  filledTensor,
  interpretOutputs,
  tensorFromNumbers,
  WARMUP_DIM,
  type ClassificationAnswer,
  type ModelAnswer,
} from './model-io.ts';

export type { ClassificationAnswer, ModelAnswer, RawAnswer, RegressionAnswer } from './model-io.ts';

/** A classification: label, per-label probabilities and every raw output. */
export interface Classification {
  label: string;
  scores: Record<string, number>;
  /** Probability of the winning label. */
  confidence: number;
  outputs: TensorMap;
}

/** One request as the serving layer hands it to a model (any route: /v1/predict, KServe V2, the regional function). */
export interface ModelRequest {
  /** Tensors the client sent, by input name, already checked against the declared dtype and shape. */
  tensors?: Readonly<Record<string, Tensor>>;
  /** Text for the model's text preprocessing. */
  text?: string;
  /** Request fields: numeric inputs (source "fields") and entity keys of feature views. */
  fields?: Readonly<Record<string, string | number>>;
  /**
   * Feature/embedding inputs already assembled elsewhere (the edge, for the regional
   * function), by input name, checked against the declared dtype and shape: used as given,
   * only the others are read from the feature store.
   */
  features?: Readonly<Record<string, Tensor>>;
}

/** Every graph input of one request, and how the feature inputs were found. */
export interface AssembledInputs {
  feeds: TensorMap;
  /** Names of the inputs made from the request's text (absent from `feeds` when the text was deferred). */
  textInputs: readonly string[];
  /** Feature views behind the features/embedding inputs, per view (entity, source, values). */
  features?: Record<string, unknown>;
  /** `features_unavailable` when feature values came from defaults because the store was slow or absent. */
  degraded?: string;
  /** Round trips to the feature store (0 or 1). */
  roundTrips: number;
}

/** Options of one assembly. */
export interface AssembleOptions {
  /** Leave the text inputs out of `feeds` (the caller adds `textFeeds(text)` only on a cache miss). */
  deferText?: boolean;
  /** Feature inputs from declared defaults, without asking the store (warmup). */
  offline?: boolean;
}

/** The model's signature as the serving layer reads it. */
export interface ModelSignature {
  inputs: readonly InputSpec[];
  outputs: readonly TensorSpec[];
  output: OutputMeaning;
  /** Largest leading dim accepted where the declared one is -1. */
  maxBatch: number;
  /** Inputs a client sends as tensors (source "request"). */
  requestInputs: readonly InputSpec[];
  /** Inputs made from text (source "text"); empty when the model takes no text. */
  textInputs: readonly TextInputSpec[];
  /** True when every input comes from the text alone (the spam models): a request is its text. */
  textOnly: boolean;
}

/** A served model version. */
export interface LoadedModel {
  manifest: ModelManifest;
  signature: ModelSignature;
  /** Ids of the first text input, for callers that send ids themselves (email-hash); throws 400 for a model without text. */
  preprocessor: Preprocessor;
  /** The text preprocessing, when the model has text inputs. */
  textPreprocessor?: TextPreprocessor;
  engine: EngineName;
  /** Engines passed over, with the reason (shown in /v2 metadata). */
  skippedEngines: Array<{ engine: EngineName; reason: string }>;
  /** Milliseconds from reading the files to the end of the warmup inferences. */
  loadMs: number;
  /** Fills every input of the graph around the request (400 naming what is missing or wrong). */
  assemble(request: ModelRequest, options?: AssembleOptions): Promise<AssembledInputs>;
  /** The text inputs for `text`, in the dtypes the graph declares. */
  textFeeds(text: string): TensorMap;
  /** Reads outputs by the declared meaning. */
  interpret(outputs: TensorMap): ModelAnswer;
  /** Runs the model on token ids of its (first) text input; classification models only. */
  classifyIds(ids: Int32Array): Promise<Classification>;
  /** Runs the model on named tensors, returning the named (default: every declared) output. */
  run(feeds: TensorMap, outputNames?: readonly string[]): Promise<TensorMap>;
  release(): Promise<void>;
}

/** Options of {@link loadModel} beyond the repository and engines. */
export interface LoadModelOptions {
  /** Fills features/embedding inputs; without one they take their declared defaults, answers marked degraded. */
  features?: FeatureAssembler;
}

/** The generic warmup text of text models without warmup requests. */
const WARMUP_TEXT = 'Subject: warmup\n\nedgeinfer warmup request';

/** Loads, verifies, selects an engine for and warms up one model version. */
export async function loadModel(
  source: ModelSource,
  name: string,
  version: string,
  registry: EngineRegistry,
  ortPreference: readonly EngineName[],
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const t0 = performance.now();
  const { manifest, bytes } = await loadVerifiedModel(source, name, version);
  let textPreprocessor: TextPreprocessor | undefined;
  if (manifest.preprocessing && manifest.inputs.some((i) => i.source === 'text')) {
    try {
      textPreprocessor = await createTextPreprocessor(manifest.preprocessing, {
        readFile: (file) => {
          // Only files beside model.json: the name is a plain file name, never a path.
          if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(file) || file.includes('..')) {
            return Promise.reject(new Error(`preprocessing file ${JSON.stringify(file.slice(0, 80))} must be a file name beside model.json`));
          }
          return source.read(`${name}/${version}/${file}`);
        },
      });
    } catch (error) {
      throw new Error(`${name}@${version}: ${(error as Error).message}`);
    }
    const missing = manifest.inputs.filter((i): i is TextInputSpec => i.source === 'text' && !textPreprocessor?.products.includes(i.text));
    if (missing.length) {
      throw new Error(`${name}@${version}: preprocessing ${manifest.preprocessing.id} produces ${textPreprocessor.products.join(', ')}, not ${missing.map((i) => `"${i.text}"`).join(', ')} (inputs ${missing.map((i) => `"${i.name}"`).join(', ')})`);
    }
  }
  const selected = await loadOnPreferredEngine(manifest, bytes, registry, ortPreference);
  const model = createLoadedModel(manifest, textPreprocessor, selected.engine, selected.session, selected.skipped, options.features);
  // Warmup: real inferences through the same path requests take; failure means not ready.
  const requests = manifest.warmup.length ? manifest.warmup : [generatedWarmup()];
  for (let i = 0; i < requests.length; i++) {
    try {
      const assembled = await model.assemble(warmupRequest(requests[i] as WarmupRequest, model.signature), { offline: true });
      model.interpret(await model.run(assembled.feeds));
    } catch (error) {
      await selected.session.release().catch(() => {});
      const which = manifest.warmup.length ? `warmup request ${i} of model.json` : 'warmup inference (inputs built from the signature; add "warmup" to model.json for other sizes)';
      throw new Error(`${manifest.name}@${manifest.version}: ${which} failed on ${selected.engine}: ${(error as Error).message}`);
    }
  }
  model.loadMs = performance.now() - t0;
  return model;
}

/** The serving view of a manifest's signature. */
export function signatureOf(manifest: ModelManifest): ModelSignature {
  const textInputs = manifest.inputs.filter((i): i is TextInputSpec => i.source === 'text');
  return {
    inputs: manifest.inputs,
    outputs: manifest.outputs,
    output: manifest.output,
    maxBatch: manifest.batch.max,
    requestInputs: manifest.inputs.filter((i) => i.source === 'request'),
    textInputs,
    textOnly: textInputs.length > 0 && textInputs.length === manifest.inputs.length,
  };
}

function createLoadedModel(
  manifest: ModelManifest,
  textPreprocessor: TextPreprocessor | undefined,
  engine: EngineName,
  session: EngineSession,
  skippedEngines: LoadedModel['skippedEngines'],
  features: FeatureAssembler | undefined,
): LoadedModel {
  const signature = signatureOf(manifest);
  const label = `${manifest.name}@${manifest.version}`;
  const constants = new Map<string, Tensor>();
  for (const spec of manifest.inputs) if (spec.source === 'constant') constants.set(spec.name, constantTensor(spec));
  const featureInputs = manifest.inputs.filter((i): i is FeatureInputSpec => i.source === 'features' || i.source === 'embedding');
  const firstText = signature.textInputs[0];

  const textFeeds = (text: string): TensorMap => {
    if (!textPreprocessor) throw new HttpError(400, 'invalid_request', `${manifest.name} takes no text; send its inputs by name ("inputs")`);
    const products = textPreprocessor.encode(text);
    const feeds: TensorMap = {};
    for (const spec of signature.textInputs) feeds[spec.name] = asTextInput(products[spec.text] as Tensor, spec);
    return feeds;
  };

  const preprocessor: Preprocessor = {
    id: manifest.preprocessing?.id ?? 'none',
    version: manifest.preprocessing?.version ?? 0,
    toIds(text) {
      if (textPreprocessor?.toIds) return textPreprocessor.toIds(text);
      if (!firstText) throw new HttpError(400, 'invalid_request', `${manifest.name} takes no text; send its inputs by name ("inputs")`);
      const ids = textFeeds(text)[firstText.name] as Tensor;
      return ids.dtype === 'int32' ? (ids.data as Int32Array) : Int32Array.from(ids.data as BigInt64Array, Number);
    },
  };

  const model: LoadedModel = {
    manifest,
    signature,
    preprocessor,
    ...(textPreprocessor ? { textPreprocessor } : {}),
    engine,
    skippedEngines,
    loadMs: 0,
    async assemble(request, options = {}) {
      const feeds: TensorMap = {};
      const given = request.tensors;
      if (given) {
        for (const name of Object.keys(given)) {
          const spec = manifest.inputs.find((i) => i.name === name);
          if (!spec || (spec.source !== 'request' && spec.source !== 'text')) {
            throw new HttpError(400, 'invalid_request', `${label} has no input ${JSON.stringify(name.slice(0, 80))} a client sends; it takes ${describeSendable(signature)}`);
          }
        }
      }
      let textMade: TensorMap | undefined;
      const textInputs: string[] = [];
      for (const spec of manifest.inputs) {
        switch (spec.source) {
          case 'request': {
            const tensor = given && Object.prototype.hasOwnProperty.call(given, spec.name) ? given[spec.name] : undefined;
            if (tensor) {
              if (tensor.dtype !== spec.dtype || tensor.dims.length !== spec.shape.length) {
                throw new HttpError(400, 'invalid_request', `input "${spec.name}" must be ${V2_DATATYPE[spec.dtype]} of shape ${JSON.stringify(spec.shape)}`);
              }
              feeds[spec.name] = tensor;
            } else if (spec.optional) {
              feeds[spec.name] = filledTensor(spec.dtype, concreteDims(spec.shape), spec.default ?? 0);
            } else {
              throw new HttpError(400, 'invalid_request', `input "${spec.name}" is required: send ${V2_DATATYPE[spec.dtype]} of shape ${JSON.stringify(spec.shape)} ("inputs": {"${spec.name}": [...]})`);
            }
            break;
          }
          case 'text': {
            textInputs.push(spec.name);
            const tensor = given && Object.prototype.hasOwnProperty.call(given, spec.name) ? given[spec.name] : undefined;
            if (tensor) {
              feeds[spec.name] = tensor;
              break;
            }
            if (options.deferText) break;
            if (request.text === undefined) throw new HttpError(400, 'invalid_request', `${label} needs "text" (its input "${spec.name}" is made from it)`);
            textMade ??= textFeeds(request.text);
            feeds[spec.name] = textMade[spec.name] as Tensor;
            break;
          }
          case 'fields':
            feeds[spec.name] = fieldsTensor(spec, request.fields);
            break;
          case 'constant':
            feeds[spec.name] = constants.get(spec.name) as Tensor;
            break;
          default:
            break; // features and embedding: all at once below
        }
      }
      const assembled: AssembledInputs = { feeds, textInputs, roundTrips: 0 };
      const givenFeatures = request.features;
      const toRead = givenFeatures ? featureInputs.filter((spec) => !Object.prototype.hasOwnProperty.call(givenFeatures, spec.name)) : featureInputs;
      if (givenFeatures) for (const spec of featureInputs) if (!toRead.includes(spec)) feeds[spec.name] = givenFeatures[spec.name] as Tensor;
      if (toRead.length) {
        if (features && !options.offline) {
          const found = await features.assemble(toRead, request.fields ?? {}, request.text);
          for (const spec of toRead) feeds[spec.name] = found.tensors[spec.name] ?? filledTensor(spec.dtype, concreteDims(spec.shape), spec.default ?? 0);
          assembled.features = found.explain;
          assembled.roundTrips = found.roundTrips;
          if (found.degraded) assembled.degraded = found.degraded;
        } else {
          for (const spec of toRead) feeds[spec.name] = filledTensor(spec.dtype, concreteDims(spec.shape), spec.default ?? 0);
          if (!options.offline) assembled.degraded = 'features_unavailable';
        }
      }
      return assembled;
    },
    textFeeds,
    interpret: (outputs) => interpretOutputs(manifest, outputs),
    async classifyIds(ids) {
      if (!firstText) throw new HttpError(400, 'invalid_request', `${manifest.name} takes no token ids`);
      const feed = asTextInput({ dtype: 'int32', dims: [1, ids.length], data: ids }, firstText);
      const outputs = await session.run({ [firstText.name]: feed });
      const answer = interpretOutputs(manifest, outputs);
      if (answer.kind !== 'classification') throw new Error(`${label} is not a classifier (output kind "${answer.kind}")`);
      return { label: answer.label, scores: answer.scores, confidence: answer.confidence, outputs };
    },
    run: (feeds, outputNames) => session.run(feeds, outputNames),
    release: () => session.release(),
  };
  return model;
}

function describeSendable(signature: ModelSignature): string {
  const parts = signature.requestInputs.map((i) => `"${i.name}" (${V2_DATATYPE[i.dtype]} ${JSON.stringify(i.shape)})`);
  if (signature.textInputs.length) parts.push('"text"');
  return parts.join(', ') || 'no client tensors';
}

/** The model's first warmup request (model.json `warmup`, else built from the signature) as a ModelRequest: what GET /_warm runs for a model without text inputs. */
export function firstWarmupRequest(model: Pick<LoadedModel, 'manifest' | 'signature'>): ModelRequest {
  return warmupRequest(model.manifest.warmup[0] ?? generatedWarmup(), model.signature);
}

/** The warmup of a model without model.json warmup: zeros of the declared shapes, a short text, zero fields. */
function generatedWarmup(): WarmupRequest {
  return { inputs: Object.create(null) as WarmupRequest['inputs'] };
}

/** A warmup request as a ModelRequest: explicit tensors, other request inputs as zeros, text and fields filled in. */
function warmupRequest(warmup: WarmupRequest, signature: ModelSignature): ModelRequest {
  const tensors: Record<string, Tensor> = {};
  for (const spec of signature.requestInputs) {
    const given = Object.prototype.hasOwnProperty.call(warmup.inputs, spec.name) ? warmup.inputs[spec.name] : undefined;
    if (!given) {
      if (!spec.optional) tensors[spec.name] = filledTensor(spec.dtype, concreteDims(spec.shape, WARMUP_DIM), 0);
      continue;
    }
    const dims = given.shape ?? concreteDims(spec.shape, WARMUP_DIM);
    tensors[spec.name] = given.fill ? filledTensor(spec.dtype, dims, given.data[0] as number) : tensorFromNumbers(spec.dtype, dims, given.data);
  }
  const fields: Record<string, string | number> = Object.create(null) as Record<string, string | number>;
  for (const spec of signature.inputs) if (spec.source === 'fields') for (const f of spec.fields) fields[f] = 0;
  if (warmup.fields) Object.assign(fields, warmup.fields);
  return {
    tensors,
    fields,
    ...(signature.textInputs.length ? { text: warmup.text ?? WARMUP_TEXT } : {}),
  };
}

/** A classification answer's probabilities in label order (what the cascade reads). */
export function probabilitiesOf(answer: ClassificationAnswer): readonly number[] {
  return answer.probabilities;
}

/**
 * Reads the classification output and names the winning label (the first model.json
 * format's reading: probabilities in label order).
 */
export function toClassification(manifest: ModelManifest, outputs: TensorMap): Classification {
  const answer = interpretOutputs(manifest, outputs);
  if (answer.kind !== 'classification') throw new Error(`${manifest.name}@${manifest.version} is not a classifier`);
  return { label: answer.label, scores: answer.scores, confidence: answer.confidence, outputs };
}
