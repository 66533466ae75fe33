// The binary tensor codec on its own: exact sizes per dtype, alignment-free reads from any
// offset (a node Buffer's pool included: a 500 the fuzzer found), BOOL bytes, BYTES framing.
import { describe, expect, it } from 'vitest';
import { TENSOR_DTYPES } from '../../../core/engine/types.ts';
import { HttpError } from '../../../core/http/errors.ts';
import { binarySize, bytesElementsFromBinary, tensorFromBinary, tensorToBinary } from '../../../core/serving/tensor-binary.ts';
import { BYTES_PER_ELEMENT } from '../../../core/serving/tensor-dtypes.ts';

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    return (error as HttpError).message;
  }
  throw new Error('expected a 400');
}

describe('tensorFromBinary / tensorToBinary', () => {
  it('round-trips every dtype from an unaligned offset, byte for byte', () => {
    for (const dtype of TENSOR_DTYPES) {
      const size = binarySize([2, 3], dtype);
      expect(size).toBe(6 * BYTES_PER_ELEMENT[dtype]);
      const body = new Uint8Array(size + 3);
      for (let i = 0; i < size; i++) body[i + 3] = dtype === 'bool' ? i % 2 : (i * 37 + 11) & 0xff;
      const slice = body.subarray(3); // offset 3: no 2/4/8-byte typed array may start there
      const t = tensorFromBinary(slice, [2, 3], dtype, `input "${dtype}"`);
      expect(t.dims).toEqual([2, 3]);
      expect(t.data.length).toBe(6);
      expect(Array.from(tensorToBinary(t)), dtype).toEqual(Array.from(slice));
    }
  });

  it('reads little-endian values', () => {
    const t = tensorFromBinary(Uint8Array.of(0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f), [2], 'float32', 'x');
    expect(Array.from(t.data as Float32Array)).toEqual([new Float32Array(Uint8Array.of(1, 2, 0, 0).buffer)[0], 1]);
    expect(Array.from(tensorFromBinary(Uint8Array.of(0xff, 0x7f), [1], 'int16', 'x').data as Int16Array)).toEqual([32767]);
  });

  it('does not keep a view of a shared pool (node Buffers are views of one 8 KB slab)', () => {
    const pooled = Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    const t = tensorFromBinary(pooled, [2], 'float32', 'x');
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2]);
    expect(t.data.byteOffset).toBe(0);
    expect(t.data.buffer.byteLength).toBe(8);
  });

  it('refuses a size that does not match the shape, and BOOL bytes other than 0 and 1', () => {
    expect(message(() => tensorFromBinary(new Uint8Array(10), [1, 3], 'float32', 'input "x"'))).toBe('input "x": binary_data_size is 10 bytes, but shape [1,3] of FP32 takes 12');
    expect(message(() => tensorFromBinary(new Uint8Array(16), [1], 'int64', 'input "n"'))).toBe('input "n": binary_data_size is 16 bytes, but shape [1] of INT64 takes 8');
    expect(message(() => tensorFromBinary(Uint8Array.of(0, 1, 2), [3], 'bool', 'input "b"'))).toBe('input "b": BOOL element 2 is byte 2; BOOL bytes must be 0 or 1');
  });
});

describe('bytesElementsFromBinary', () => {
  const frame = (...texts: string[]) => {
    const parts = texts.map((t) => new TextEncoder().encode(t));
    const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
    let offset = 0;
    for (const p of parts) {
      new DataView(out.buffer).setUint32(offset, p.byteLength, true);
      out.set(p, offset + 4);
      offset += 4 + p.byteLength;
    }
    return out;
  };

  it('splits length-prefixed elements', () => {
    const elements = bytesElementsFromBinary(frame('hi', '', 'héllo'), 3, 'input "text"');
    expect(elements.map((e) => new TextDecoder().decode(e))).toEqual(['hi', '', 'héllo']);
  });

  it('refuses lengths past the end, missing prefixes and stray bytes', () => {
    const lying = frame('abc');
    new DataView(lying.buffer).setUint32(0, 4, true);
    expect(message(() => bytesElementsFromBinary(lying, 1, 'input "text"'))).toBe('input "text": BYTES element 0 claims 4 bytes, past the end of its binary_data_size 7');
    expect(message(() => bytesElementsFromBinary(frame('a'), 2, 'input "text"'))).toBe('input "text": BYTES element 1 has no 4-byte length (binary_data_size 5)');
    expect(message(() => bytesElementsFromBinary(frame('a', 'b'), 1, 'input "text"'))).toBe('input "text": binary_data_size is 10 bytes, but its 1 BYTES element(s) take 5');
  });
});
