// KServe V2 / Open Inference Protocol over HTTP
// (https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol):
// health, server and model metadata, and infer with every input the model lets a client send,
// in JSON or with the binary tensor data extension (Triton's
// docs/protocol/extension_binary_data.md: `binary_data_size` per input, the JSON header's
// length in `Inference-Header-Content-Length`, raw little-endian bytes after it; outputs in
// binary when asked with `binary_data` / `binary_data_output`). A model with a text
// preprocessing also takes a BYTES input named "text", preprocessed on the server.
import type { CoreRequest } from '../http/core-request.ts';
import { isJsonMediaType, mediaTypeOf, parseJsonBytes, readBodyBytes, readJsonBody, rejectUnknownKeys, requireObject, unsupportedMediaType } from '../http/body.ts';
import { HttpError, jsonResponse } from '../http/errors.ts';
import { StageTimer } from '../http/timing.ts';
import { EngineError } from '../engine/ort-session.ts';
import type { Tensor, TensorMap } from '../engine/types.ts';
import type { InputSpec, ModelManifest, TensorSpec } from '../model/manifest.ts';
import type { EmailHashParams } from '../preprocess/index.ts';
import { preprocessingFingerprint } from '../preprocess/fingerprint.ts';
import { describeType, previewValue, requireIds, requireText } from '../serving/inputs.ts';
import type { LoadedModel } from '../serving/loaded-model.ts';
import { bytesElementsFromBinary, tensorFromBinary, tensorToBinary } from '../serving/tensor-binary.ts';
import { V2_DATATYPE } from '../serving/tensor-dtypes.ts';
import { checkShape, elementCount, tensorFromData, tensorToJson } from '../serving/tensor-json.ts';
import type { ServiceContext } from '../service-context.ts';

/** Protocol extensions this server implements, as GET /v2 reports them. */
export const KSERVE_EXTENSIONS = ['binary_tensor_data'] as const;

/** Name of the BYTES input that carries raw text to a model's preprocessing. */
const TEXT_INPUT = 'text';

function hasTextSource(manifest: ModelManifest): boolean {
  return manifest.inputs.some((spec) => spec.source === 'text');
}

/** What a client may send: request inputs, and for a text model its text products (ids) plus "text". */
function sendable(spec: InputSpec): boolean {
  return spec.source === 'request' || spec.source === 'text';
}

function describeSpec(spec: TensorSpec): string {
  return `"${spec.name}" (${V2_DATATYPE[spec.dtype]} ${JSON.stringify(spec.shape)})`;
}

/** The inputs a client may send, for error messages. */
function acceptedInputs(manifest: ModelManifest): string {
  const list = manifest.inputs.filter(sendable).map(describeSpec);
  if (hasTextSource(manifest)) list.unshift(`"${TEXT_INPUT}" (BYTES [1])`);
  return list.join(', ');
}

function tensorMetadata(spec: TensorSpec) {
  return { name: spec.name, datatype: V2_DATATYPE[spec.dtype], shape: spec.shape };
}

/** GET /v2: server metadata. */
export function serverMetadata(service: ServiceContext): Response {
  return jsonResponse({ name: service.config.serverName, version: service.config.serverVersion, extensions: KSERVE_EXTENSIONS });
}

/**
 * GET /v2/models/{name}[/versions/{v}]: model metadata. `inputs` lists what a client may
 * send, each with its source; inputs the server fills itself (features, fields, constants)
 * are listed under parameters.server_inputs.
 */
export async function modelMetadata(service: ServiceContext, name: string, version: string | undefined): Promise<Response> {
  const model = await requireVersion(service, name, version);
  const m = model.manifest;
  const inputs = m.inputs.filter(sendable).map((spec) => ({ ...tensorMetadata(spec), parameters: { source: spec.source, optional: spec.optional } }));
  if (hasTextSource(m)) inputs.push({ name: TEXT_INPUT, datatype: 'BYTES', shape: [1], parameters: { source: 'text', optional: false } });
  const preprocessing = m.preprocessing;
  return jsonResponse({
    name: m.name,
    versions: [m.version],
    platform: 'onnx',
    inputs,
    outputs: m.outputs.map(tensorMetadata),
    parameters: {
      sha256: m.sha256,
      labels: m.labels,
      max_batch_size: m.batch.max,
      server_inputs: m.inputs.filter((spec) => !sendable(spec)).map((spec) => ({ ...tensorMetadata(spec), source: spec.source })),
      // With params, a client can produce the same ids itself (edgeinfer/client).
      preprocessing: preprocessing
        ? { id: preprocessing.id, version: preprocessing.version, params: preprocessing.params, fingerprint: preprocessingFingerprint(preprocessing) }
        : null,
      engine: model.engine,
      skipped_engines: model.skippedEngines,
    },
  });
}

/** GET /v2/models/{name}[/versions/{v}]/ready. */
export async function modelReady(service: ServiceContext, name: string, version: string | undefined): Promise<Response> {
  await requireVersion(service, name, version);
  return jsonResponse({ name, ready: true });
}

const INFER_FIELDS = ['id', 'parameters', 'inputs', 'outputs', 'model_name', 'model_version'] as const;
const INPUT_FIELDS = ['name', 'shape', 'datatype', 'data', 'parameters'] as const;
const OUTPUT_FIELDS = ['name', 'parameters'] as const;
const bad = (message: string) => new HttpError(400, 'invalid_request', message);
const EMPTY = new Uint8Array(0);

/** The JSON part of an infer request and the binary tensor bytes after it (empty without the extension). */
interface InferBody {
  header: unknown;
  binary: Uint8Array;
  /** False when no Inference-Header-Content-Length was sent (a binary_data_size then has nothing to point at). */
  extension: boolean;
}

async function readInferBody(request: CoreRequest, maxBytes: number, preread?: Uint8Array): Promise<InferBody> {
  const declared = request.headers.get('inference-header-content-length');
  if (declared === null) return { header: await readJsonBody(request, maxBytes, preread), binary: EMPTY, extension: false };
  const media = mediaTypeOf(request);
  if (media !== 'application/octet-stream' && !isJsonMediaType(media)) {
    throw unsupportedMediaType(request, 'application/octet-stream (or application/json) with Inference-Header-Content-Length');
  }
  if (!/^\s*\d{1,15}\s*$/.test(declared)) throw bad(`Inference-Header-Content-Length must be the byte length of the JSON header, got ${previewValue(declared)}`);
  const bytes = await readBodyBytes(request, maxBytes, preread);
  const length = Number(declared);
  if (length > bytes.byteLength) throw bad(`Inference-Header-Content-Length is ${length}, past the end of the ${bytes.byteLength}-byte body`);
  return { header: parseJsonBytes(bytes.subarray(0, length), 'the inference header'), binary: bytes.subarray(length), extension: true };
}

/** Hands out consecutive slices of the binary part, in the order inputs declare them. */
class BinaryCursor {
  #offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly extension: boolean,
  ) {}

  take(size: number, where: string): Uint8Array {
    if (!this.extension) throw bad(`${where}: parameters.binary_data_size needs the binary tensor extension: send the Inference-Header-Content-Length header with the JSON header's length, and the tensor bytes after it`);
    const left = this.bytes.byteLength - this.#offset;
    if (size > left) throw bad(`${where}: binary_data_size ${size} runs past the end of the body (${left} bytes of tensor data left)`);
    const slice = this.bytes.subarray(this.#offset, this.#offset + size);
    this.#offset += size;
    return slice;
  }

  finish(): void {
    const left = this.bytes.byteLength - this.#offset;
    if (left > 0) throw bad(`the body has ${left} bytes after the JSON header that no input's binary_data_size accounts for`);
  }
}

/** A non-negative integer parameter (binary_data_size), or undefined when absent. */
function binaryDataSize(parameters: unknown, where: string): number | undefined {
  if (parameters === undefined) return undefined;
  const p = requireObject(parameters, `${where}: "parameters"`);
  const size = p.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw bad(`${where}: parameters.binary_data_size must be a byte count (integer ≥ 0), got ${previewValue(size)}`);
  }
  return size;
}

function boolParameter(parameters: unknown, key: string, where: string): boolean | undefined {
  if (parameters === undefined) return undefined;
  const value = requireObject(parameters, `${where} "parameters"`)[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw bad(`${where} parameters.${key} must be true or false, got ${previewValue(value)}`);
  return value;
}

/** What the request's inputs gave: named tensors and, for a text model, the text. */
interface ParsedInputs {
  tensors: TensorMap;
  text?: string;
}

function parseInputs(list: unknown, model: LoadedModel, binary: BinaryCursor): ParsedInputs {
  const m = model.manifest;
  const textModel = hasTextSource(m);
  if (!Array.isArray(list) || list.length === 0) throw bad(`"inputs" must be a non-empty array of tensors; ${m.name} takes ${acceptedInputs(m)}`);
  const limit = m.inputs.length + (textModel ? 1 : 0);
  if (list.length > limit) throw bad(`"inputs" has ${list.length} tensors; ${m.name} takes at most ${limit}: ${acceptedInputs(m)}`);
  // Null prototype: a graph may name an input "__proto__" or "constructor".
  const parsed: ParsedInputs = { tensors: Object.create(null) as TensorMap };
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const input = requireObject(item, `inputs[${i}]`);
    rejectUnknownKeys(input, INPUT_FIELDS, `inputs[${i}]`);
    if (typeof input.name !== 'string' || input.name === '') throw bad(`inputs[${i}].name must be a non-empty string; ${m.name} takes ${acceptedInputs(m)}`);
    const name = input.name;
    const where = `input ${previewValue(name, 64)}`;
    if (seen.has(name)) throw bad(`${where} is sent twice`);
    seen.add(name);
    const size = binaryDataSize(input.parameters, where);
    if (size !== undefined && input.data !== undefined) throw bad(`${where} has both "data" and parameters.binary_data_size; send one`);
    const bytes = size === undefined ? undefined : binary.take(size, where);
    if (bytes === undefined && input.data === undefined) throw bad(`${where} has no "data" (or parameters.binary_data_size with the binary tensor extension)`);

    if (name === TEXT_INPUT && textModel && !m.inputs.some((spec) => spec.name === TEXT_INPUT)) {
      parsed.text = textFromInput(input, bytes, where);
      return;
    }
    const spec = m.inputs.find((s) => s.name === name);
    if (!spec) throw bad(`unknown ${where}; ${m.name} takes ${acceptedInputs(m)}`);
    if (!sendable(spec)) throw bad(`${where} is filled by the server (source "${spec.source}"); ${m.name} takes ${acceptedInputs(m)}`);
    parsed.tensors[name] = spec.source === 'text' ? textProductFromInput(input, bytes, spec, model, where) : requestTensor(input, bytes, spec, m.batch.max, where);
  });
  binary.finish();

  const missing = m.inputs.filter((spec) => spec.source === 'request' && !spec.optional && !seen.has(spec.name));
  if (missing.length > 0) throw bad(`missing input${missing.length > 1 ? 's' : ''} ${missing.map(describeSpec).join(', ')}; ${m.name} takes ${acceptedInputs(m)}`);
  if (textModel && parsed.text === undefined) {
    const products = m.inputs.filter((spec) => spec.source === 'text');
    const absent = products.filter((spec) => !seen.has(spec.name));
    if (absent.length === products.length) throw bad(`${m.name} needs a BYTES input "${TEXT_INPUT}" (shape [1], the raw text) or its preprocessed ${products.map(describeSpec).join(', ')}`);
    if (absent.length > 0) throw bad(`missing input${absent.length > 1 ? 's' : ''} ${absent.map(describeSpec).join(', ')}: send every preprocessed tensor, or "${TEXT_INPUT}" instead`);
  }
  if (parsed.text !== undefined && m.inputs.some((spec) => spec.source === 'text' && seen.has(spec.name))) {
    throw bad(`send either "${TEXT_INPUT}" or its preprocessed tensors, not both`);
  }
  return parsed;
}

function requireDatatype(input: Record<string, unknown>, spec: TensorSpec, where: string): void {
  const expected = V2_DATATYPE[spec.dtype];
  if (input.datatype !== expected) throw bad(`${where} must have datatype "${expected}" (shape ${JSON.stringify(spec.shape)}), got ${previewValue(input.datatype)}`);
}

/** A request-source tensor: the declared datatype, a shape within the declared dims, JSON or binary data. */
function requestTensor(input: Record<string, unknown>, bytes: Uint8Array | undefined, spec: TensorSpec, maxBatch: number, where: string): Tensor {
  requireDatatype(input, spec, where);
  const shape = checkShape(input.shape, spec, where, maxBatch);
  return bytes ? tensorFromBinary(bytes, shape, spec.dtype, where) : tensorFromData(input.data, shape, spec.dtype, where);
}

/** The raw text of the BYTES "text" input: one UTF-8 string, in JSON or binary. */
function textFromInput(input: Record<string, unknown>, bytes: Uint8Array | undefined, where: string): string {
  if (input.datatype !== 'BYTES') throw bad(`${where} must have datatype "BYTES", got ${previewValue(input.datatype)}`);
  if (!Array.isArray(input.shape) || input.shape.length !== 1 || input.shape[0] !== 1) {
    throw bad(`${where} must have shape [1] (one text), got ${Array.isArray(input.shape) ? 'another shape' : previewValue(input.shape)}`);
  }
  if (bytes) {
    const [element] = bytesElementsFromBinary(bytes, 1, where);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(element);
    } catch {
      throw bad(`${where}: the BYTES element is not valid UTF-8`);
    }
    return requireText(text, `${TEXT_INPUT}.data[0]`);
  }
  if (!Array.isArray(input.data) || input.data.length !== 1) throw bad(`${where} must carry data: ["the message"], got ${describeType(input.data)}`);
  return requireText(input.data[0], `${TEXT_INPUT}.data[0]`);
}

/**
 * A text product sent already preprocessed (the spam models' token ids): INT32 or INT64, and
 * for email-hash ids inside the model's bucket range (an out-of-range Gather index is
 * undefined behaviour in some engines).
 */
function textProductFromInput(input: Record<string, unknown>, bytes: Uint8Array | undefined, spec: TensorSpec, model: LoadedModel, where: string): Tensor {
  const integer = spec.dtype === 'int32' || spec.dtype === 'int64';
  const datatypes = integer ? ['INT32', 'INT64'] : [V2_DATATYPE[spec.dtype]];
  if (typeof input.datatype !== 'string' || !datatypes.includes(input.datatype)) {
    throw bad(`${where} must have datatype ${datatypes.map((d) => `"${d}"`).join(' or ')}, got ${previewValue(input.datatype)}`);
  }
  const sentDtype = input.datatype === 'INT64' ? 'int64' : input.datatype === 'INT32' ? 'int32' : spec.dtype;
  const shape = checkShape(input.shape, spec, where, model.manifest.batch.max);
  const sent = bytes ? tensorFromBinary(bytes, shape, sentDtype, where) : tensorFromData(input.data, shape, sentDtype, where);
  const preprocessing = model.manifest.preprocessing;
  if (integer && preprocessing?.id === 'email-hash' && (preprocessing.params as EmailHashParams | undefined)?.buckets !== undefined) {
    const ids = requireIds(Array.from(sent.data as ArrayLike<number | bigint>, Number), model, `${spec.name}.data`);
    return { dtype: 'int32', dims: shape, data: ids };
  }
  if (sent.dtype === spec.dtype) return sent;
  // INT32 ids sent for an int64 input (or the reverse): same values, the declared width.
  const values = Array.from(sent.data as ArrayLike<number | bigint>, Number);
  return tensorFromData(values, shape, spec.dtype, where);
}

interface WantedOutput {
  name: string;
  binary: boolean;
}

function requestedOutputs(outputs: unknown, model: LoadedModel, binaryDefault: boolean): WantedOutput[] {
  const declared = model.manifest.outputs.map((o) => o.name);
  if (outputs === undefined) return declared.map((name) => ({ name, binary: binaryDefault }));
  if (!Array.isArray(outputs) || outputs.length === 0) throw bad('"outputs" must be a non-empty array of {"name": ...} (or left out for every output)');
  const seen = new Set<string>();
  return outputs.map((item, i) => {
    const output = requireObject(item, `outputs[${i}]`);
    rejectUnknownKeys(output, OUTPUT_FIELDS, `outputs[${i}]`);
    const name = output.name;
    if (typeof name !== 'string' || !declared.includes(name)) {
      throw bad(`outputs[${i}].name must be one of ${declared.map((n) => `"${n}"`).join(', ')}, got ${previewValue(name)}`);
    }
    if (seen.has(name)) throw bad(`output "${name}" is requested twice`);
    seen.add(name);
    return { name, binary: boolParameter(output.parameters, 'binary_data', `outputs[${i}]`) ?? binaryDefault };
  });
}

/**
 * The feeds the engine gets: the parsed tensors, optional request inputs left out filled with
 * their default (variable dims at 1), and the preprocessed text when "text" was sent.
 */
function feedsOf(parsed: ParsedInputs, model: LoadedModel): TensorMap {
  const feeds: TensorMap = Object.assign(Object.create(null) as TensorMap, parsed.tensors);
  for (const spec of model.manifest.inputs) {
    if (spec.source !== 'request' || !spec.optional || spec.name in feeds) continue;
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    const fill = spec.default ?? 0;
    feeds[spec.name] = tensorFromData(new Array(elementCount(shape)).fill(spec.dtype === 'bool' ? fill !== 0 : fill), shape, spec.dtype, `input "${spec.name}" (default)`);
  }
  if (parsed.text === undefined) return feeds;
  const idsSpec = model.manifest.inputs.find((spec) => spec.source === 'text') as TensorSpec;
  const ids = model.preprocessor.toIds(parsed.text);
  feeds[idsSpec.name] = { dtype: 'int32', dims: [1, ids.length], data: ids };
  return feeds;
}

/** POST /v2/models/{name}[/versions/{v}]/infer. */
export async function infer(request: CoreRequest, service: ServiceContext, name: string, version: string | undefined, preread?: Uint8Array): Promise<Response> {
  const timer = new StageTimer();
  const body = await timer.time('parse', () => readInferBody(request, service.config.maxBodyBytes, preread));
  const header = requireObject(body.header, body.extension ? 'the inference header' : 'the request body');
  rejectUnknownKeys(header, INFER_FIELDS, 'the infer request');
  if (header.id !== undefined && typeof header.id !== 'string') throw bad('"id" must be a string');
  const model = await requireVersion(service, name, version);
  if (header.model_name !== undefined && header.model_name !== model.manifest.name) throw bad(`"model_name" is ${previewValue(header.model_name)}, but the path names "${model.manifest.name}"`);
  if (header.model_version !== undefined && header.model_version !== model.manifest.version) throw bad(`"model_version" is ${previewValue(header.model_version)}, but "${model.manifest.version}" serves`);
  const binaryOutputs = boolParameter(header.parameters, 'binary_data_output', 'the infer request') ?? false;

  const parsed = timer.time('preprocess', () => parseInputs(header.inputs, model, new BinaryCursor(body.binary, body.extension)));
  const wanted = requestedOutputs(header.outputs, model, binaryOutputs);
  const feeds = timer.time('preprocess', () => feedsOf(parsed, model));
  let outputs: TensorMap;
  try {
    outputs = await timer.time('infer', () => model.run(feeds));
  } catch (error) {
    // Inputs passed every declared check yet the graph refused them (a variable dim it cannot
    // take, two batch sizes that do not broadcast): the request's fault, as Triton answers it.
    if (error instanceof EngineError && error.code === 'run_failed') throw bad(`${model.manifest.name} could not run on these inputs: ${error.message.slice(0, 400)}`);
    throw error;
  }
  const timings = timer.snapshot();
  const chunks: Uint8Array[] = [];
  const answer = {
    model_name: model.manifest.name,
    model_version: model.manifest.version,
    ...(header.id !== undefined ? { id: header.id } : {}),
    outputs: wanted.map(({ name: outputName, binary }) => {
      const tensor = outputs[outputName] as Tensor;
      if (!binary) return { name: outputName, ...tensorToJson(tensor) };
      const bytes = tensorToBinary(tensor);
      chunks.push(bytes);
      return { name: outputName, datatype: V2_DATATYPE[tensor.dtype], shape: [...tensor.dims], parameters: { binary_data_size: bytes.byteLength } };
    }),
    parameters: { sha256: model.manifest.sha256, timings },
  };
  const serverTiming = { 'server-timing': StageTimer.header(timings) };
  if (chunks.length === 0) return jsonResponse(answer, 200, serverTiming);
  const json = new TextEncoder().encode(JSON.stringify(answer));
  const out = new Uint8Array(json.byteLength + chunks.reduce((n, c) => n + c.byteLength, 0));
  out.set(json, 0);
  let offset = json.byteLength;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new Response(out, {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.byteLength), 'cache-control': 'no-store', ...serverTiming },
  });
}

async function requireVersion(service: ServiceContext, name: string, version: string | undefined): Promise<LoadedModel> {
  const model = await service.requireModel(name);
  if (version !== undefined && version !== model.manifest.version) {
    throw new HttpError(404, 'model_not_found', `model "${name}" has no version "${version.slice(0, 40)}"; served: ${model.manifest.version}`);
  }
  return model;
}
