// KServe V2 / Open Inference Protocol over HTTP/JSON
// (https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/):
// health, server and model metadata, and infer with JSON tensors. A BYTES input named
// "text" carries raw text and goes through the model's preprocessing; otherwise the
// model's declared input (token ids) is fed as given, after range checks.
import type { CoreRequest } from '../http/core-request.ts';
import { readJsonBody, rejectUnknownKeys, requireObject } from '../http/body.ts';
import { HttpError, jsonResponse } from '../http/errors.ts';
import { StageTimer } from '../http/timing.ts';
import type { Tensor, TensorMap } from '../engine/types.ts';
import { V2_DATATYPE } from '../serving/tensor-dtypes.ts';
import type { TensorSpec } from '../model/manifest.ts';
import { preprocessingFingerprint } from '../preprocess/fingerprint.ts';
import { previewValue, requireIds, requireText } from '../serving/inputs.ts';
import type { LoadedModel } from '../serving/loaded-model.ts';
import type { ServiceContext } from '../service-context.ts';

function tensorMetadata(spec: TensorSpec) {
  return { name: spec.name, datatype: V2_DATATYPE[spec.dtype], shape: spec.shape };
}

/** GET /v2: server metadata. */
export function serverMetadata(service: ServiceContext): Response {
  return jsonResponse({ name: service.config.serverName, version: service.config.serverVersion, extensions: [] });
}

/** GET /v2/models/{name}[/versions/{v}]: model metadata, plus which engine runs it. */
export async function modelMetadata(service: ServiceContext, name: string, version: string | undefined): Promise<Response> {
  const model = await requireVersion(service, name, version);
  const m = model.manifest;
  return jsonResponse({
    name: m.name,
    versions: [m.version],
    platform: 'onnx',
    inputs: [...m.inputs.map(tensorMetadata), { name: 'text', datatype: 'BYTES', shape: [1] }],
    outputs: m.outputs.map(tensorMetadata),
    parameters: {
      sha256: m.sha256,
      labels: m.labels,
      // With params, a client can produce the same ids itself (edgeinfer/client).
      preprocessing: { id: m.preprocessing.id, version: m.preprocessing.version, params: m.preprocessing.params, fingerprint: preprocessingFingerprint(m.preprocessing) },
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

const INFER_FIELDS = ['id', 'parameters', 'inputs', 'outputs'] as const;
const INPUT_FIELDS = ['name', 'shape', 'datatype', 'data', 'parameters'] as const;

/** POST /v2/models/{name}[/versions/{v}]/infer. */
export async function infer(request: CoreRequest, service: ServiceContext, name: string, version: string | undefined, preread?: Uint8Array): Promise<Response> {
  const timer = new StageTimer();
  const body = requireObject(await timer.time('parse', () => readJsonBody(request, service.config.maxBodyBytes, preread)));
  rejectUnknownKeys(body, INFER_FIELDS, 'the infer request');
  if (body.id !== undefined && typeof body.id !== 'string') throw new HttpError(400, 'invalid_request', '"id" must be a string');
  const model = await requireVersion(service, name, version);
  const idsSpec = model.manifest.inputs[0] as TensorSpec;

  if (!Array.isArray(body.inputs) || body.inputs.length !== 1) {
    throw new HttpError(
      400,
      'invalid_request',
      `"inputs" must be an array with one tensor: either {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["..."]} or {"name": "${idsSpec.name}", "datatype": "INT32", "shape": [1, n], "data": [ids]}`,
    );
  }
  const input = requireObject(body.inputs[0], 'inputs[0]');
  rejectUnknownKeys(input, INPUT_FIELDS, 'inputs[0]');
  const ids = await timer.time('preprocess', () => idsFromInput(input, model, idsSpec));

  const wanted = requestedOutputs(body.outputs, model);
  const outputs = await timer.time('infer', () => model.run({ [idsSpec.name]: { dtype: 'int32', dims: [1, ids.length], data: ids } }));
  const timings = timer.snapshot();
  return jsonResponse(
    {
      model_name: model.manifest.name,
      model_version: model.manifest.version,
      ...(body.id !== undefined ? { id: body.id } : {}),
      outputs: wanted.map((outputName) => outputTensor(outputName, outputs)),
      parameters: { sha256: model.manifest.sha256, timings },
    },
    200,
    { 'server-timing': StageTimer.header(timings) },
  );
}

function idsFromInput(input: Record<string, unknown>, model: LoadedModel, idsSpec: TensorSpec): Int32Array {
  if (input.name === 'text') {
    if (input.datatype !== 'BYTES') throw new HttpError(400, 'invalid_request', 'input "text" must have datatype "BYTES"');
    requireShape(input.shape, [1], 'input "text"');
    if (!Array.isArray(input.data) || input.data.length !== 1) {
      throw new HttpError(400, 'invalid_request', 'input "text" must carry data: ["the message"]');
    }
    return model.preprocessor.toIds(requireText(input.data[0], 'text.data[0]'));
  }
  if (input.name === idsSpec.name) {
    if (input.datatype !== 'INT32' && input.datatype !== 'INT64') {
      throw new HttpError(400, 'invalid_request', `input "${idsSpec.name}" must have datatype "INT32" (or "INT64")`);
    }
    const data = Array.isArray(input.data) ? input.data.flat(2) : input.data;
    if (!Array.isArray(data)) throw new HttpError(400, 'invalid_request', `input "${idsSpec.name}" must carry data as an array`);
    requireShape(input.shape, [1, data.length], `input "${idsSpec.name}"`);
    return requireIds(data, model, `${idsSpec.name}.data`);
  }
  throw new HttpError(
    400,
    'invalid_request',
    `unknown input ${previewValue(input.name ?? '', 80)}; ${model.manifest.name} takes "text" (BYTES) or "${idsSpec.name}" (INT32)`,
  );
}

function requireShape(shape: unknown, expected: number[], what: string): void {
  if (!Array.isArray(shape) || shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new HttpError(400, 'invalid_request', `${what} must have shape ${JSON.stringify(expected)}, got ${Array.isArray(shape) && shape.every((d) => typeof d !== 'object' || d === null) ? JSON.stringify(shape.slice(0, 8)) : previewValue(shape)}`);
  }
}

function requestedOutputs(outputs: unknown, model: LoadedModel): string[] {
  const declared = model.manifest.outputs.map((o) => o.name);
  if (outputs === undefined) return declared;
  if (!Array.isArray(outputs)) throw new HttpError(400, 'invalid_request', '"outputs" must be an array of {"name": ...}');
  return outputs.map((o, i) => {
    const name = (o as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !declared.includes(name)) {
      throw new HttpError(400, 'invalid_request', `outputs[${i}].name must be one of ${declared.join(', ')}`);
    }
    return name;
  });
}

function outputTensor(name: string, outputs: TensorMap) {
  const tensor = outputs[name] as Tensor;
  const data = tensor.dtype === 'int64' ? Array.from(tensor.data as BigInt64Array, Number) : Array.from(tensor.data as ArrayLike<number>);
  return { name, datatype: V2_DATATYPE[tensor.dtype], shape: tensor.dims, data };
}

async function requireVersion(service: ServiceContext, name: string, version: string | undefined): Promise<LoadedModel> {
  const model = await service.requireModel(name);
  if (version !== undefined && version !== model.manifest.version) {
    throw new HttpError(404, 'model_not_found', `model "${name}" has no version "${version.slice(0, 40)}"; served: ${model.manifest.version}`);
  }
  return model;
}
