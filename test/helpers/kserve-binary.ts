// A tiny client side of the binary tensor data extension, for tests: builds a request body
// (JSON header + raw tensor bytes, Inference-Header-Content-Length) and splits a binary
// response back into its JSON header and each output's bytes, as Triton's clients do.

/** An input sent as raw bytes. */
export interface BinaryInput {
  name: string;
  datatype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Body and headers of a binary infer request; `extra` lands in the JSON header as it is. */
export function binaryInferRequest(inputs: BinaryInput[], extra: Record<string, unknown> = {}): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const header = new TextEncoder().encode(
    JSON.stringify({ ...extra, inputs: inputs.map(({ name, datatype, shape, bytes }) => ({ name, datatype, shape, parameters: { binary_data_size: bytes.byteLength } })) }),
  );
  const body = new Uint8Array(header.byteLength + inputs.reduce((n, i) => n + i.bytes.byteLength, 0));
  body.set(header, 0);
  let offset = header.byteLength;
  for (const input of inputs) {
    body.set(input.bytes, offset);
    offset += input.bytes.byteLength;
  }
  return { body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.byteLength) } };
}

/** The bytes of a typed array (little-endian on every machine we run). */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** One BYTES element as the extension frames it: 4-byte little-endian length, then the UTF-8. */
export function bytesElement(text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  const out = new Uint8Array(4 + utf8.byteLength);
  new DataView(out.buffer).setUint32(0, utf8.byteLength, true);
  out.set(utf8, 4);
  return out;
}

/** A V2 answer whose outputs may carry binary data. */
export interface V2Answer {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: Array<{ name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size?: number } }>;
  parameters?: Record<string, unknown>;
}

/** Splits a response into the JSON answer and each binary output's bytes, by name. */
export async function readV2Answer(response: Response): Promise<{ answer: V2Answer; binary: Map<string, Uint8Array> }> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const declared = response.headers.get('inference-header-content-length');
  const headerLength = declared === null ? bytes.byteLength : Number(declared);
  const answer = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength))) as V2Answer;
  const binary = new Map<string, Uint8Array>();
  let offset = headerLength;
  for (const output of answer.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    binary.set(output.name, bytes.slice(offset, offset + size));
    offset += size;
  }
  if (offset !== bytes.byteLength) throw new Error(`response has ${bytes.byteLength - offset} bytes no output accounts for`);
  return { answer, binary };
}
