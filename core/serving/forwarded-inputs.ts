// Tensors of a model's declared inputs from what a request carries besides tensors: its
// numeric `fields`, and feature/embedding values assembled elsewhere (the edge forwards the
// regional model's values in the regional request). The same functions build the regional
// model's inputs in the regional function and hash them into the regional cache key at the
// edge, so the key covers exactly the tensors the model is run on.
import type { Tensor } from '../engine/types.ts';
import { HttpError } from '../http/errors.ts';
import type { FeatureInputSpec, FieldsInputSpec } from '../model/manifest.ts';
import { concreteDims, tensorFromNumbers } from './model-io.ts';

/** The tensor of a "fields" input from the request's fields: numbers in declared order (400 naming what is missing or not a number). */
export function fieldsTensor(spec: FieldsInputSpec, fields: Readonly<Record<string, string | number>> | undefined): Tensor {
  const values = new Array<number>(spec.fields.length);
  const missing: string[] = [];
  for (let i = 0; i < spec.fields.length; i++) {
    const name = spec.fields[i] as string;
    const value = fields && Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
    if (value === undefined) {
      if (spec.optional) values[i] = spec.default ?? 0;
      else missing.push(name);
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new HttpError(400, 'invalid_request', `field "${name}" must be a finite number (input "${spec.name}"), got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value)}`);
    }
    values[i] = value;
  }
  if (missing.length) {
    throw new HttpError(400, 'invalid_request', `input "${spec.name}" needs the numeric field(s) ${missing.map((m) => `"${m}"`).join(', ')} in "fields"`);
  }
  return tensorFromNumbers(spec.dtype, concreteDims(spec.shape, spec.fields.length), values);
}

/** The tensor of a feature/embedding input from forwarded values (one row, declared order); undefined when they are not exactly that many finite numbers. */
export function forwardedFeatureTensor(spec: FeatureInputSpec, values: unknown): Tensor | undefined {
  const dims = concreteDims(spec.shape);
  let n = 1;
  for (const d of dims) n *= d;
  if (!Array.isArray(values) || values.length !== n || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  return tensorFromNumbers(spec.dtype, dims, values as number[]);
}
