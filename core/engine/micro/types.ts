// The contract between the micro compiler (build/micro) and the micro engine: what a
// generated module exports. Web-standard types only; the generated code has no imports.
import type { TensorDType, TensorMap } from '../types.ts';

/** A declared input or output of a compiled module (-1 marks a variable dimension). */
export interface MicroTensorSpec {
  name: string;
  dtype: TensorDType;
  shape: number[];
}

/** `metadata` exported by every generated module. */
export interface MicroModuleMetadata {
  format: 'edgeinfer-micro/1';
  name: string;
  /** Hex SHA-256 of the .onnx the module was compiled from. */
  sourceSha256: string;
  inputs: MicroTensorSpec[];
  outputs: MicroTensorSpec[];
  ops: Record<string, number>;
}

/** A generated module: its metadata and the synchronous forward pass. */
export interface MicroModule {
  metadata: MicroModuleMetadata;
  /** Throws an Error with `code: "bad_input"` for feeds that do not match the inputs. */
  run(feeds: TensorMap): TensorMap;
}
