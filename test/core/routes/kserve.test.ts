// KServe V2 infer on the spam example through the handler: the binary tensor data extension
// (requests and responses) gives the same numbers as JSON, and every lie in a binary body
// (sizes, header length, stray bytes) is a 400 naming the input and what was expected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceService } from '../../../core/handler.ts';
import { parseManifest } from '../../../core/model/manifest.ts';
import { createPreprocessor } from '../../../core/preprocess/index.ts';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';
import { binaryInferRequest, bytesElement, bytesOf, readV2Answer } from '../../helpers/kserve-binary.ts';

const BASE = 'http://edgeinfer.test';
const TEXT = 'Subject: cheap meds\nFrom: a@b.example\n\nBuy now, limited offer!';
let repo: ReturnType<typeof writeRegionalModelRepo>;
let service: InferenceService;
let ids: number[];

function post(body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/v2/models/spam-edge/infer') {
  return service.fetch(new Request(`${BASE}${path}`, { method: 'POST', body, headers }));
}

async function refusal(response: Response, status = 400): Promise<string> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(status === 413 ? 'payload_too_large' : 'invalid_request');
  return body.error.message;
}

beforeAll(async () => {
  repo = writeRegionalModelRepo(['spam-edge']);
  service = createLocalService({ modelsRoot: repo.root, micro: false });
  await service.warm();
  const manifest = parseManifest(readFileSync(join(repo.root, 'spam-edge', '1', 'model.json'), 'utf8'), 'model.json');
  ids = Array.from(createPreprocessor(manifest.preprocessing!).toIds(TEXT));
});
afterAll(async () => {
  await service?.close();
  repo?.cleanup();
});

describe('KServe V2 metadata', () => {
  it('lists the binary tensor data extension and the inputs a client sends, with their sources', async () => {
    const server = (await (await service.fetch(new Request(`${BASE}/v2`))).json()) as { extensions: string[] };
    expect(server.extensions).toEqual(['binary_tensor_data']);
    const meta = (await (await service.fetch(new Request(`${BASE}/v2/models/spam-edge`))).json()) as Record<string, any>;
    expect(meta.inputs).toEqual([
      { name: 'ids', datatype: 'INT32', shape: [1, -1], parameters: { source: 'text', optional: false } },
      { name: 'text', datatype: 'BYTES', shape: [1], parameters: { source: 'text', optional: false } },
    ]);
    expect(meta.parameters.max_batch_size).toBe(1);
  });
});

describe('KServe V2 binary tensor data', () => {
  it('answers binary text, binary ids and JSON ids alike, and returns binary outputs on request', async () => {
    const json = await post(JSON.stringify({ id: 'j', inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, ids.length], data: ids }] }));
    expect(json.status).toBe(200);
    const expected = ((await json.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;

    const viaText = binaryInferRequest([{ name: 'text', datatype: 'BYTES', shape: [1], bytes: bytesElement(TEXT) }], { id: 'b1' });
    const textAnswer = await readV2Answer(await post(viaText.body, viaText.headers));
    expect(textAnswer.answer.id).toBe('b1');
    expect(textAnswer.answer.outputs[0]!.data).toEqual(expected);

    const viaIds = binaryInferRequest([{ name: 'ids', datatype: 'INT32', shape: [1, ids.length], bytes: bytesOf(Int32Array.from(ids)) }], {
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
    });
    const response = await post(viaIds.body, viaIds.headers);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const { answer, binary } = await readV2Answer(response);
    expect(answer.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } });
    expect(Array.from(new Float32Array(binary.get('probabilities')!.buffer))).toEqual(expected);

    // binary_data_output for every output, INT64 ids instead of INT32.
    const int64 = binaryInferRequest([{ name: 'ids', datatype: 'INT64', shape: [1, ids.length], bytes: bytesOf(BigInt64Array.from(ids, BigInt)) }], { parameters: { binary_data_output: true } });
    const all = await readV2Answer(await post(int64.body, int64.headers));
    expect(Array.from(new Float32Array(all.binary.get('probabilities')!.buffer))).toEqual(expected);
  });

  it('refuses binary sizes that do not match the shape, naming the input and the expected size', async () => {
    const idsBytes = bytesOf(Int32Array.from(ids));
    const wrong = binaryInferRequest([{ name: 'ids', datatype: 'INT32', shape: [1, ids.length + 1], bytes: idsBytes }]);
    expect(await refusal(await post(wrong.body, wrong.headers))).toBe(
      `input "ids": binary_data_size is ${idsBytes.byteLength} bytes, but shape [1,${ids.length + 1}] of INT32 takes ${idsBytes.byteLength + 4}`,
    );
    // The size says more than the body holds.
    const short = binaryInferRequest([{ name: 'ids', datatype: 'INT32', shape: [1, ids.length], bytes: idsBytes }]);
    expect(await refusal(await post(short.body.slice(0, short.body.byteLength - 3), short.headers))).toBe(
      `input "ids": binary_data_size ${idsBytes.byteLength} runs past the end of the body (${idsBytes.byteLength - 3} bytes of tensor data left)`,
    );
    // Bytes no input accounts for.
    const long = new Uint8Array([...short.body, 1, 2, 3]);
    expect(await refusal(await post(long, short.headers))).toBe('the body has 3 bytes after the JSON header that no input\'s binary_data_size accounts for');
    // A BYTES element whose length prefix lies.
    const element = bytesElement('hello');
    new DataView(element.buffer).setUint32(0, 99, true);
    const text = binaryInferRequest([{ name: 'text', datatype: 'BYTES', shape: [1], bytes: element }]);
    expect(await refusal(await post(text.body, text.headers))).toBe('input "text": BYTES element 0 claims 99 bytes, past the end of its binary_data_size 9');
  });

  it('refuses a header length past the body, a bad header length and binary sizes without the header', async () => {
    const request = binaryInferRequest([{ name: 'ids', datatype: 'INT32', shape: [1, 2], bytes: bytesOf(Int32Array.of(1, 2)) }]);
    const past = { ...request.headers, 'inference-header-content-length': String(request.body.byteLength + 1) };
    expect(await refusal(await post(request.body, past))).toBe(`Inference-Header-Content-Length is ${request.body.byteLength + 1}, past the end of the ${request.body.byteLength}-byte body`);
    expect(await refusal(await post(request.body, { ...request.headers, 'inference-header-content-length': '-4' }))).toContain('Inference-Header-Content-Length must be the byte length of the JSON header');
    const cut = { ...request.headers, 'inference-header-content-length': '10' };
    expect((await (await post(request.body, cut)).json()) as object).toMatchObject({ error: { code: 'invalid_json' } });
    const header = new TextDecoder().decode(request.body.subarray(0, Number(request.headers['inference-header-content-length'])));
    expect(await refusal(await post(header))).toContain('input "ids": parameters.binary_data_size needs the binary tensor extension');
    const wrongType = await post(request.body, { 'content-type': 'text/plain', 'inference-header-content-length': request.headers['inference-header-content-length']! });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { error: { message: string } }).error.message).toBe(
      'expected content-type application/octet-stream (or application/json) with Inference-Header-Content-Length, got "text/plain"',
    );
  });

  it('keeps the body limit: an oversized binary body is 413', async () => {
    const big = new Int32Array(20_000);
    const request = binaryInferRequest([{ name: 'ids', datatype: 'INT32', shape: [1, big.length], bytes: bytesOf(big) }]);
    expect(await refusal(await post(request.body, request.headers), 413)).toContain('exceeds the limit of 65536 bytes');
  });
});

describe('KServe V2 request checks', () => {
  it.each([
    ['a wrong datatype', { inputs: [{ name: 'ids', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, 'input "ids" must have datatype "INT32" or "INT64", got "FP32"'],
    ['a wrong rank', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [2], data: [1, 2] }] }, 'input "ids" has shape [2] (rank 1); expected rank 2, shape [1,-1]'],
    ['a batch over the limit', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [2, 1], data: [1, 2] }] }, 'input "ids" has shape [2,1]; expected [1,-1] (dimension 0 must be 1)'],
    ['an unknown input', { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1], data: [1] }] }, 'unknown input "pixels"; spam-edge takes "text" (BYTES [1]), "ids" (INT32 [1,-1])'],
    ['a duplicate input', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }, { name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }] }, 'input "text" is sent twice'],
    ['text and ids together', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }, { name: 'ids', datatype: 'INT32', shape: [1, 1], data: [1] }] }, 'send either "text" or its preprocessed tensors, not both'],
    ['an input without data', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 1] }] }, 'input "ids" has no "data" (or parameters.binary_data_size with the binary tensor extension)'],
    ['a duplicate output', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }], outputs: [{ name: 'probabilities' }, { name: 'probabilities' }] }, 'output "probabilities" is requested twice'],
    ['a model_name that is not the path\'s', { model_name: 'other', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }] }, '"model_name" is "other", but the path names "spam-edge"'],
    ['a non-boolean binary_data_output', { parameters: { binary_data_output: 'yes' }, inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }] }, 'the infer request parameters.binary_data_output must be true or false, got "yes"'],
  ])('refuses %s with 400 naming it', async (_what, body, message) => {
    expect(await refusal(await post(JSON.stringify(body)))).toBe(message);
  });
});
