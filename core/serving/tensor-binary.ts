// Raw tensor bytes of the binary tensor data extension (Triton's
// docs/protocol/extension_binary_data.md): little-endian, row-major, no padding, each
// element in its native size, BOOL one byte (0 or 1), BYTES as a 4-byte little-endian length
// before each element's bytes. Used by the KServe V2 route for requests and responses.
import { TENSOR_DATA_CONSTRUCTORS, type Tensor, type TensorDType } from '../engine/types.ts';
import { HttpError } from '../http/errors.ts';
import { BYTES_PER_ELEMENT, V2_DATATYPE } from './tensor-dtypes.ts';
import { elementCount } from './tensor-json.ts';

const bad = (message: string) => new HttpError(400, 'invalid_request', message);

/** Typed arrays use the platform's byte order; every runtime we target is little-endian, but say so once. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.byteLength; i += width) bytes.subarray(i, i + width).reverse();
}

/** Bytes a tensor of `shape` and `dtype` occupies in the binary extension. */
export function binarySize(shape: readonly number[], dtype: TensorDType): number {
  return elementCount(shape) * BYTES_PER_ELEMENT[dtype];
}

/**
 * A tensor from its raw bytes. The byte count must be exactly what the shape and dtype need
 * (a lying binary_data_size is refused before anything is read); BOOL bytes must be 0 or 1.
 */
export function tensorFromBinary(bytes: Uint8Array, shape: readonly number[], dtype: TensorDType, where: string): Tensor {
  const expected = binarySize(shape, dtype);
  if (bytes.byteLength !== expected) {
    throw bad(`${where}: binary_data_size is ${bytes.byteLength} bytes, but shape ${JSON.stringify(shape)} of ${V2_DATATYPE[dtype]} takes ${expected}`);
  }
  // A copy: the body's bytes may sit at an offset no typed array of this width can start at.
  const copy = new Uint8Array(bytes); // not .slice(): on a node Buffer that is a view of a shared pool
  const width = BYTES_PER_ELEMENT[dtype];
  if (!LITTLE_ENDIAN && width > 1) swapBytes(copy, width);
  const Ctor = TENSOR_DATA_CONSTRUCTORS[dtype] as unknown as new (buffer: ArrayBuffer) => Tensor['data'];
  const data = new Ctor(copy.buffer);
  if (dtype === 'bool') {
    const at = copy.findIndex((b) => b > 1);
    if (at >= 0) throw bad(`${where}: BOOL element ${at} is byte ${copy[at]}; BOOL bytes must be 0 or 1`);
  }
  return { dtype, dims: [...shape], data } as Tensor;
}

/** The raw little-endian bytes of a tensor (a view when no swap is needed). */
export function tensorToBinary(t: Tensor): Uint8Array {
  const data = t.data;
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || BYTES_PER_ELEMENT[t.dtype] === 1) return view;
  const copy = view.slice();
  swapBytes(copy, BYTES_PER_ELEMENT[t.dtype]);
  return copy;
}

/** Splits BYTES tensor data (4-byte LE length, then the bytes, per element) into `count` elements. */
export function bytesElementsFromBinary(bytes: Uint8Array, count: number, where: string): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.byteLength) throw bad(`${where}: BYTES element ${i} has no 4-byte length (binary_data_size ${bytes.byteLength})`);
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.byteLength) {
      throw bad(`${where}: BYTES element ${i} claims ${length} bytes, past the end of its binary_data_size ${bytes.byteLength}`);
    }
    out.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== bytes.byteLength) throw bad(`${where}: binary_data_size is ${bytes.byteLength} bytes, but its ${count} BYTES element(s) take ${offset}`);
  return out;
}
