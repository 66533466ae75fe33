// What a /v1/predict body asks for, checked against the model before anything runs: the
// model's request-source inputs by name ("inputs": nested arrays or {data, shape}), its text
// ("text"), token ids the client made with the model's own preprocessing ("ids" +
// "preprocessing"), request fields ("fields"). Every refusal is a 400 naming the input and
// what was expected.
import type { Tensor } from '../engine/types.ts';
import { HttpError } from '../http/errors.ts';
import type { LoadedModel, ModelRequest } from '../serving/loaded-model.ts';
import { asTextInput } from '../serving/model-io.ts';
import { describeType, requireClientIds } from '../serving/inputs.ts';
import { tensorFromJson } from '../serving/tensor-json.ts';
import { V2_DATATYPE } from '../serving/tensor-dtypes.ts';

const bad = (message: string) => new HttpError(400, 'invalid_request', message);

/** The parts of a request body that carry tensors (checked here against the model). */
export interface PredictBody {
  ids?: unknown;
  preprocessing?: unknown;
  inputs?: unknown;
}

/** What the model is given, and what of it the cascade can forward. */
export interface PreparedRequest {
  request: ModelRequest;
  /** The client's ids (email-hash), when it sent them instead of text. */
  clientIds?: Int32Array;
}

/** What a model takes from a client, for error messages: `"x" (FP32 [1, 16, 96]), "text"`. */
export function describeAccepted(model: LoadedModel): string {
  const parts = model.signature.requestInputs.map((i) => `"inputs": {"${i.name}": ${V2_DATATYPE[i.dtype]} ${JSON.stringify(i.shape)}}`);
  if (model.signature.textInputs.length) parts.push('"text"');
  if (model.manifest.inputs.some((i) => i.source === 'fields' || i.source === 'features' || i.source === 'embedding')) parts.push('"fields"');
  return parts.join(', ') || 'nothing a client sends';
}

/**
 * Checks the inputs of a request against `model` and builds its ModelRequest: `text` and
 * `fields` already checked by the route, `body`'s ids and tensors checked here.
 */
export function prepareRequest(model: LoadedModel, text: string | undefined, body: PredictBody, fields?: Record<string, string | number>): PreparedRequest {
  const label = `${model.manifest.name}@${model.manifest.version}`;
  const request: ModelRequest = {};
  const prepared: PreparedRequest = { request };
  if (text !== undefined) {
    if (!model.signature.textInputs.length) throw bad(`${label} takes no text; it takes ${describeAccepted(model)}`);
    request.text = text;
  }
  if (fields !== undefined) request.fields = fields;
  // The usual request (text alone) ends here.
  if (body.ids === undefined && body.inputs === undefined && body.preprocessing === undefined) return prepared;
  const tensors: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  if (body.ids !== undefined) {
    const first = model.signature.textInputs[0];
    // Ids are checked against the preprocessing's bounds (bucket range, length): only one that
    // makes ids from text alone, and a model fed by that one input, can take them.
    if (!first || !model.textPreprocessor?.toIds || model.signature.textInputs.length !== 1) {
      throw bad(`${label} takes no client token ids; send "text"${first ? '' : ` or ${describeAccepted(model)}`}`);
    }
    const ids = requireClientIds(body.ids, body.preprocessing, model);
    prepared.clientIds = ids;
    tensors[first.name] = asTextInput({ dtype: 'int32', dims: [1, ids.length], data: ids }, first);
  } else if (body.preprocessing !== undefined) {
    throw bad('"preprocessing" goes with "ids" (the token ids it made); send "ids", or leave it out');
  }
  if (body.inputs !== undefined) {
    if (typeof body.inputs !== 'object' || body.inputs === null || Array.isArray(body.inputs)) {
      throw bad(`field "inputs" must be an object of tensors by input name, got ${describeType(body.inputs)}; ${label} takes ${describeAccepted(model)}`);
    }
    const given = body.inputs as Record<string, unknown>;
    for (const name of Object.keys(given)) {
      const spec = model.manifest.inputs.find((i) => i.name === name);
      if (!spec || spec.source !== 'request') {
        const why = spec?.source === 'text' ? `is made from "text"; send "text"` : spec ? `is filled by the server (source "${spec.source}")` : 'is not an input of this model';
        throw bad(`input ${JSON.stringify(name.slice(0, 80))} ${why}; ${label} takes ${describeAccepted(model)}`);
      }
      tensors[name] = tensorFromJson(given[name], spec, `input "${name}"`, model.signature.maxBatch);
    }
  }
  if (Object.keys(tensors).length) request.tensors = tensors;
  return prepared;
}

