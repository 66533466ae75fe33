// The core handler end to end through its fetch function, with real engines over a
// seeded model repository written to a temp dir: routes, answers equal to the engine's
// own output, and every bad-input class with its status and error code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOrtNodeEngine } from '../../core/engine/ort-node/ort-node-engine.ts';
import type { InferenceService } from '../../core/handler.ts';
import { requireTextPreprocessing, parseManifest } from '../../core/model/manifest.ts';
import { createPreprocessor } from '../../core/preprocess/index.ts';
import { createLocalService } from '../../adapters/node/local-service.ts';
import { writeRegionalModelRepo } from '../helpers/regional-model-repo.ts';

const BASE = 'http://edgeinfer.test';
let repo: ReturnType<typeof writeRegionalModelRepo>;
let service: InferenceService;

function post(path: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return service.fetch(new Request(`${BASE}${path}`, { method: 'POST', body, headers }));
}
const predict = (body: unknown) => post('/v1/predict', typeof body === 'string' ? body : JSON.stringify(body));

async function expectError(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error.message;
}

beforeAll(async () => {
  repo = writeRegionalModelRepo(['spam-edge', 'other-model']);
  // Two models take text: the one answering requests that name none is configured (EDGEINFER_DEFAULT_MODEL).
  service = createLocalService({ modelsRoot: repo.root, config: { defaultModel: 'spam-edge' } });
  const states = await service.warm();
  expect(states.map((s) => s.status)).toEqual(['ready', 'ready']);
});
afterAll(async () => {
  await service?.close();
  repo?.cleanup();
});

describe('POST /v1/predict', () => {
  it('answers with label, scores, model identity, tier, cache state and timings equal to the engine output', async () => {
    const text = 'Subject: cheap meds\nFrom: a@b.example\n\nBuy now, limited offer!';
    const response = await predict({ text });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Record<string, any>;
    expect(answer.model).toEqual({ name: 'spam-edge', version: '1', sha256: repo.sha256['spam-edge'] });
    expect(answer.tier).toBe('edge');
    expect(answer.cached).toBe(false);
    expect(Object.keys(answer.scores)).toEqual(['ham', 'spam']);
    expect(answer.scores.ham + answer.scores.spam).toBeCloseTo(1, 5);
    expect(answer.label).toBe(answer.scores.spam > answer.scores.ham ? 'spam' : 'ham');
    for (const key of ['parseMs', 'preprocessMs', 'inferMs', 'totalMs']) expect(answer.timings[key]).toBeGreaterThanOrEqual(0);
    expect(response.headers.get('server-timing')).toMatch(/preprocess;dur=[\d.]+, infer;dur=[\d.]+.*total;dur=/);

    // The same ids through a bare engine session give the same numbers.
    const dir = join(repo.root, 'spam-edge', '1');
    const manifest = parseManifest(readFileSync(join(dir, 'model.json'), 'utf8'), 'model.json');
    const session = await (await createOrtNodeEngine()).load(new Uint8Array(readFileSync(join(dir, 'model.onnx'))), manifest);
    const ids = createPreprocessor(requireTextPreprocessing(manifest)).toIds(text);
    const out = await session.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: ids } });
    const probabilities = Array.from(out.probabilities!.data as Float32Array);
    expect(answer.scores.ham).toBe(probabilities[0]);
    expect(answer.scores.spam).toBe(probabilities[1]);
    await session.release();
  });

  it('serves another model when the body names it', async () => {
    const answer = (await (await predict({ text: 'hello there', model: 'other-model' })).json()) as Record<string, any>;
    expect(answer.model.name).toBe('other-model');
    expect(answer.model.sha256).toBe(repo.sha256['other-model']);
  });

  it.each([
    ['malformed JSON', '{"text": "abc"', 400, 'invalid_json'],
    ['truncated JSON', '{"te', 400, 'invalid_json'],
    ['an empty body', '', 400, 'invalid_json'],
    ['a JSON array', '["text"]', 400, 'invalid_request'],
    ['a JSON number', '42', 400, 'invalid_request'],
    ['JSON null', 'null', 400, 'invalid_request'],
    ['a missing text field', '{}', 400, 'invalid_request'],
    ['text as a number', '{"text": 5}', 400, 'invalid_request'],
    ['text as null', '{"text": null}', 400, 'invalid_request'],
    ['text as an object', '{"text": {"a": 1}}', 400, 'invalid_request'],
    ['text as an array', '{"text": ["a"]}', 400, 'invalid_request'],
    ['empty text', '{"text": ""}', 400, 'empty_text'],
    ['whitespace-only text', '{"text": " \\n\\t "}', 400, 'empty_text'],
    ['an unknown field', '{"text": "hi", "txet": "hi"}', 400, 'invalid_request'],
    ['model as a number', '{"text": "hi", "model": 3}', 400, 'invalid_request'],
    ['an unknown model', '{"text": "hi", "model": "nope"}', 404, 'model_not_found'],
    ['deeply nested JSON', `{"text": ${'['.repeat(5000)}${']'.repeat(5000)}}`, 400, 'invalid_request'],
  ])('rejects %s', async (_what, body, status, code) => {
    await expectError(await predict(body), status, code);
  });

  it('accepts unicode edge cases without failing', async () => {
    for (const text of ['\u0000', '😀'.repeat(100), '\ud800 lone surrogate', 'é\u0301 combining', '\u202e rtl']) {
      const response = await predict({ text });
      expect(response.status).toBe(200);
    }
  });

  it('rejects invalid UTF-8 with 400', async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    await expectError(await post('/v1/predict', bytes), 400, 'invalid_json');
  });

  it('rejects a body over the limit with 413, declared or streamed', async () => {
    const big = JSON.stringify({ text: 'a'.repeat(70 * 1024) });
    await expectError(await predict(big), 413, 'payload_too_large');
    const chunks = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < chunks.length; i += 4096) controller.enqueue(chunks.slice(i, i + 4096));
        controller.close();
      },
    });
    const streamed = new Request(`${BASE}/v1/predict`, {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    await expectError(await service.fetch(streamed), 413, 'payload_too_large');
  });

  it('rejects a wrong or missing content type with 415', async () => {
    await expectError(await post('/v1/predict', '{"text":"hi"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    await expectError(await post('/v1/predict', 'text=hi', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    const noType = new Request(`${BASE}/v1/predict`, { method: 'POST', body: new Uint8Array([123, 125]) });
    await expectError(await service.fetch(noType), 415, 'unsupported_media_type');
  });

  it('rejects a wrong method with 405 and an Allow header', async () => {
    const response = await service.fetch(new Request(`${BASE}/v1/predict`));
    expect(response.headers.get('allow')).toBe('POST');
    await expectError(response, 405, 'method_not_allowed');
    await expectError(await service.fetch(new Request(`${BASE}/healthz`, { method: 'DELETE' })), 405, 'method_not_allowed');
  });

  it('answers unknown routes and malformed paths with JSON errors', async () => {
    await expectError(await service.fetch(new Request(`${BASE}/nope`)), 404, 'not_found');
    await expectError(await service.fetch(new Request(`${BASE}/v2/models/%E0%A4%A/infer`, { method: 'POST' })), 400, 'invalid_request');
  });
});

describe('KServe V2', () => {
  const get = (path: string) => service.fetch(new Request(`${BASE}${path}`));

  it('answers a readiness probe on a cold service by loading the models first (was a 503 on cold edge isolates, found by the fuzz run)', async () => {
    const cold = createLocalService({ modelsRoot: repo.root });
    try {
      const ready = await cold.fetch(new Request(`${BASE}/v2/health/ready`));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true });
    } finally {
      await cold.close();
    }
  });

  it('reports liveness, readiness, server and model metadata', async () => {
    expect(await (await get('/v2/health/live')).json()).toEqual({ live: true });
    const ready = await get('/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
    expect(((await (await get('/v2')).json()) as { name: string }).name).toBe('edgeinfer');
    const meta = (await (await get('/v2/models/spam-edge')).json()) as Record<string, any>;
    expect(meta.name).toBe('spam-edge');
    expect(meta.versions).toEqual(['1']);
    expect(meta.inputs).toContainEqual({ name: 'ids', datatype: 'INT32', shape: [1, -1], parameters: { source: 'text', optional: false } });
    expect(meta.inputs).toContainEqual({ name: 'text', datatype: 'BYTES', shape: [1], parameters: { source: 'text', optional: false } });
    expect(meta.outputs).toContainEqual({ name: 'probabilities', datatype: 'FP32', shape: [1, 2] });
    expect(meta.parameters.engine).toBe('ort-node');
    expect((await get('/v2/models/spam-edge/versions/1/ready')).status).toBe(200);
    await expectError(await get('/v2/models/spam-edge/versions/7'), 404, 'model_not_found');
    await expectError(await get('/v2/models/unknown'), 404, 'model_not_found');
  });

  it('infers from a BYTES text input and from token ids, with the same result as /v1/predict', async () => {
    const text = 'Subject: meeting tomorrow\n\nSee you at ten.';
    const v1 = (await (await predict({ text })).json()) as Record<string, any>;
    const viaText = await post('/v2/models/spam-edge/infer', JSON.stringify({ id: 'r1', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [text] }] }));
    expect(viaText.status).toBe(200);
    const body = (await viaText.json()) as Record<string, any>;
    expect(body.model_name).toBe('spam-edge');
    expect(body.model_version).toBe('1');
    expect(body.id).toBe('r1');
    const probs = body.outputs.find((o: { name: string }) => o.name === 'probabilities');
    expect(probs).toMatchObject({ datatype: 'FP32', shape: [1, 2] });
    expect(probs.data).toEqual([v1.scores.ham, v1.scores.spam]);

    const manifest = parseManifest(readFileSync(join(repo.root, 'spam-edge', '1', 'model.json'), 'utf8'), 'model.json');
    const ids = Array.from(createPreprocessor(requireTextPreprocessing(manifest)).toIds(text));
    const viaIds = await post(
      '/v2/models/spam-edge/versions/1/infer',
      JSON.stringify({ inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, ids.length], data: ids }], outputs: [{ name: 'probabilities' }] }),
    );
    const idsBody = (await viaIds.json()) as Record<string, any>;
    expect(idsBody.outputs).toHaveLength(1);
    expect(idsBody.outputs[0].data).toEqual(probs.data);
  });

  it.each([
    ['no inputs', { inputs: [] }],
    ['two inputs', { inputs: [{ name: 'text' }, { name: 'text' }] }],
    ['an unknown input', { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1], data: [1] }] }],
    ['text with a wrong datatype', { inputs: [{ name: 'text', datatype: 'FP32', shape: [1], data: ['x'] }] }],
    ['text with a wrong shape', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['x'] }] }],
    ['text that is not a string', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [7] }] }],
    ['ids out of range', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 2], data: [1, 1e9] }] }],
    ['negative ids', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 1], data: [-1] }] }],
    ['fractional ids', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 1], data: [1.5] }] }],
    ['empty ids', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 0], data: [] }] }],
    ['too many ids', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 5000], data: new Array(5000).fill(1) }] }],
    ['a shape that does not match the data', { inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 3], data: [1, 2] }] }],
    ['an unknown output', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['x'] }], outputs: [{ name: 'nope' }] }],
    ['an unknown top-level field', { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['x'] }], extra: 1 }],
  ])('rejects %s with 400', async (_what, body) => {
    await expectError(await post('/v2/models/spam-edge/infer', JSON.stringify(body)), 400, 'invalid_request');
  });

  it('rejects infer on an unknown model with 404', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['x'] }] });
    await expectError(await post('/v2/models/nope/infer', body), 404, 'model_not_found');
  });
});

describe('a corrupt model', () => {
  it('is refused with a message naming the file and the sha256 mismatch; readiness says so', async () => {
    const corrupt = writeRegionalModelRepo(['spam-edge']);
    const modelPath = join(corrupt.root, 'spam-edge', '1', 'model.onnx');
    const bytes = readFileSync(modelPath);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(modelPath, bytes);
    const broken = createLocalService({ modelsRoot: corrupt.root });
    try {
      const [state] = await broken.warm();
      expect(state?.status).toBe('failed');
      const ready = await broken.fetch(new Request(`${BASE}/v2/health/ready`));
      expect(await expectError(ready, 503, 'model_not_ready')).toContain('spam-edge');
      const response = await broken.fetch(
        new Request(`${BASE}/v1/predict`, { method: 'POST', body: '{"text":"hi"}', headers: { 'content-type': 'application/json' } }),
      );
      const message = await expectError(response, 503, 'model_not_ready');
      // #17 item 14: the file by its place in the repository, never the server's absolute path or the hashes (those go to the log).
      expect(message).toContain('spam-edge/1/model.onnx');
      expect(message).not.toContain(corrupt.root);
      expect(message).not.toMatch(/[0-9a-f]{64}/);
      expect(message).toContain('sha256 mismatch');
    } finally {
      await broken.close();
      corrupt.cleanup();
    }
  });

  it('is refused when model.json is not valid JSON', async () => {
    const bad = writeRegionalModelRepo(['spam-edge']);
    const other = join(bad.root, 'spam-edge', '2');
    mkdirSync(other);
    copyFileSync(join(bad.root, 'spam-edge', '1', 'model.onnx'), join(other, 'model.onnx'));
    writeFileSync(join(other, 'model.json'), '{ not json');
    const broken = createLocalService({ modelsRoot: bad.root });
    try {
      const message = await expectError(await broken.fetch(new Request(`${BASE}/v2/models/spam-edge`)), 503, 'model_not_ready');
      expect(message).toContain('spam-edge/2/model.json');
      expect(message).not.toContain(bad.root);
      expect(message).toContain('not valid JSON');
    } finally {
      await broken.close();
      bad.cleanup();
    }
  });
});
