// The shared conformance suite: one list of golden requests (real test-split messages, KServe
// V2 calls, the warmer, every bad-input class) run against a built target through its own
// `invoke`, compared with the reference answers of the node handler in this process. Labels
// and error codes must be equal, scores within 1e-6. Per target only `invoke` differs.
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../adapters/node/local-service.ts';
import type { InferenceService } from '../../core/handler.ts';
import { loadSplits } from '../../models/training/dataset.ts';
import { latestVersion } from '../helpers/latest-version.ts';

/** A request as every target receives it. */
export interface GoldenRequest {
  id: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A target's answer, reduced to what the suite compares. */
export interface GoldenResponse {
  status: number;
  headers: Record<string, string>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Sends one golden request to a target. */
export type Invoke = (request: GoldenRequest) => Promise<GoldenResponse>;

/** The admin token every target under test is configured with. */
export const CONFORMANCE_ADMIN_TOKEN = 'conformance-admin-token';
/** The models every edge target embeds; the reference serves the same repository. */
export const EDGE_MODELS = ['spam-edge'];

export { latestVersion };
/** Largest body any target must accept in full (Lambda@Edge viewer exposes 40 KB). */
const MAX_MESSAGE_BODY = 30_000;

/** A model repository holding only the edge models (what edge bundles embed). */
export function edgeModelsRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-edge-models-'));
  for (const name of EDGE_MODELS) cpSync(join(import.meta.dirname, '../../models', name), join(dir, name), { recursive: true });
  return dir;
}

/** The same repository with every model.json saying `engine: "ort"` (sha256 unchanged): builds from it run ORT. */
export function ortModelsRoot(): string {
  const dir = edgeModelsRoot();
  for (const name of EDGE_MODELS) {
    for (const version of readdirSync(join(dir, name)).filter((v) => /^\d+$/.test(v))) {
      const path = join(dir, name, version, 'model.json');
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), engine: 'ort' }));
    }
  }
  return dir;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Real test-split messages, 20 ham and 20 spam, small enough for every target. */
export function goldenMessages(): Array<{ text: string; label: 'ham' | 'spam' }> {
  const out: Array<{ text: string; label: 'ham' | 'spam' }> = [];
  const count = { ham: 0, spam: 0 };
  for (const m of loadSplits().test) {
    const label = m.label === 1 ? 'spam' : 'ham';
    if (count[label] >= 20 || JSON.stringify({ text: m.text }).length > MAX_MESSAGE_BODY) continue;
    count[label]++;
    out.push({ text: m.text, label });
  }
  return out;
}

/** Every golden request, in the order they are sent. */
export function goldenRequests(): GoldenRequest[] {
  const predict = goldenMessages().map((m, i) => ({ id: `predict-${i}-${m.label}`, method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: JSON.stringify({ text: m.text }) }));
  const first = goldenMessages()[0]!.text;
  return [
    { id: 'healthz', method: 'GET', path: '/healthz', headers: {} },
    ...predict,
    { id: 'kserve-text', method: 'POST', path: '/v2/models/spam-edge/infer', headers: JSON_HEADERS, body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [first] }] }) },
    { id: 'kserve-ids', method: 'POST', path: `/v2/models/spam-edge/versions/${latestVersion('spam-edge')}/infer`, headers: JSON_HEADERS, body: JSON.stringify({ inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }] }) },
    { id: 'kserve-metadata', method: 'GET', path: '/v2/models/spam-edge', headers: {} },
    { id: 'kserve-ready', method: 'GET', path: '/v2/health/ready', headers: {} },
    { id: 'bad-json', method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: '{"text": "unterminated' },
    { id: 'bad-content-type', method: 'POST', path: '/v1/predict', headers: { 'content-type': 'text/plain' }, body: 'hello' },
    { id: 'missing-text', method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: '{}' },
    { id: 'text-not-string', method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: '{"text": 42}' },
    { id: 'empty-text', method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: '{"text": ""}' },
    { id: 'body-not-object', method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: '[1, 2]' },
    // Over every target's limit: 64 KB (node, Vercel, Netlify), 40 KB (Lambda@Edge viewer), 1 MB (origin).
    { id: 'too-large', method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: JSON.stringify({ text: 'spam '.repeat(220_000) }) },
    { id: 'unknown-model', method: 'POST', path: '/v1/predict', headers: JSON_HEADERS, body: '{"text": "hello", "model": "nope"}' },
    { id: 'unknown-route', method: 'GET', path: '/v3/nothing', headers: {} },
    { id: 'wrong-method', method: 'GET', path: '/v1/predict', headers: {} },
    { id: 'kserve-bad-tensor', method: 'POST', path: '/v2/models/spam-edge/infer', headers: JSON_HEADERS, body: '{"inputs": [{"name": "ids", "datatype": "FP32", "shape": [1, 1], "data": [0.5]}]}' },
    { id: 'warm-no-token', method: 'GET', path: '/_warm', headers: {} },
    { id: 'warm-wrong-token', method: 'GET', path: '/_warm', headers: { authorization: 'Bearer wrong' } },
    { id: 'warm', method: 'GET', path: '/_warm', headers: { authorization: `Bearer ${CONFORMANCE_ADMIN_TOKEN}` } },
    // The other admin routes behind the same token, on every target.
    { id: 'metrics-no-token', method: 'GET', path: '/metrics', headers: {} },
    { id: 'metrics-wrong-token', method: 'GET', path: '/metrics', headers: { authorization: 'Bearer wrong' } },
    // Past the token check the route validates its query: a JSON 400 shows the token was accepted.
    { id: 'metrics-token', method: 'GET', path: '/metrics?scope=nope', headers: { authorization: `Bearer ${CONFORMANCE_ADMIN_TOKEN}` } },
    { id: 'dashboard-no-token', method: 'GET', path: '/dashboard/data', headers: {} },
    { id: 'dashboard-wrong-token', method: 'GET', path: '/dashboard/data', headers: { authorization: 'Bearer wrong' } },
    { id: 'dashboard-token', method: 'GET', path: '/dashboard/data', headers: { authorization: `Bearer ${CONFORMANCE_ADMIN_TOKEN}` } },
  ];
}

/** Error codes each bad-input request must produce on every target. */
const EXPECTED_ERRORS: Record<string, [number, string]> = {
  'bad-json': [400, 'invalid_json'],
  'bad-content-type': [415, 'unsupported_media_type'],
  'missing-text': [400, 'invalid_request'],
  'text-not-string': [400, 'invalid_request'],
  'empty-text': [400, 'empty_text'],
  'body-not-object': [400, 'invalid_request'],
  'too-large': [413, 'payload_too_large'],
  'unknown-model': [404, 'model_not_found'],
  'unknown-route': [404, 'not_found'],
  'wrong-method': [405, 'method_not_allowed'],
  'kserve-bad-tensor': [400, 'invalid_request'],
  'warm-no-token': [401, 'unauthorized'],
  'warm-wrong-token': [403, 'forbidden'],
  'metrics-no-token': [401, 'unauthorized'],
  'metrics-wrong-token': [403, 'forbidden'],
  'metrics-token': [400, 'invalid_request'],
  'dashboard-no-token': [401, 'unauthorized'],
  'dashboard-wrong-token': [403, 'forbidden'],
};

/** The reference: the node handler in this process, over the edge models, micro engine. */
export function createReferenceService(): InferenceService {
  return createLocalService({ modelsRoot: edgeModelsRoot(), micro: true, regional: { kind: 'none' }, config: { adminToken: CONFORMANCE_ADMIN_TOKEN } });
}

/** Calls the reference in process. */
export async function invokeService(service: InferenceService, request: GoldenRequest): Promise<GoldenResponse> {
  const response = await service.fetch(
    new Request(`http://edgeinfer.test${request.path}`, { method: request.method, headers: request.headers, ...(request.body !== undefined ? { body: request.body } : {}) }),
  );
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.json() };
}

function maxScoreDiff(a: Record<string, number>, b: Record<string, number>): number {
  let diff = 0;
  for (const key of Object.keys(b)) diff = Math.max(diff, Math.abs((a[key] ?? Number.NaN) - b[key]!));
  return Number.isNaN(diff) ? Infinity : diff;
}

/**
 * Defines the suite for one target. `setup` builds and starts it (in beforeAll) and returns
 * its invoke function; `expectedEngine` is the engine spam-edge must run on there.
 */
export function defineConformanceSuite(target: string, setup: () => Promise<{ invoke: Invoke; close?: () => Promise<void> }>): void {
  describe(`conformance: ${target}`, () => {
    const requests = goldenRequests();
    const answers = new Map<string, GoldenResponse>();
    const reference = new Map<string, GoldenResponse>();
    let close: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const started = await setup();
      close = started.close;
      // Requests go one at a time, in order (readiness and the warmer depend on what ran before).
      for (const request of requests) answers.set(request.id, await started.invoke(request));
      const service = createReferenceService();
      for (const request of requests) reference.set(request.id, await invokeService(service, request));
      await service.close();
    }, 240_000);

    afterAll(async () => {
      await close?.();
    });

    it('answers real test-split messages with the reference labels, scores within 1e-6', () => {
      const messages = goldenMessages();
      let correct = 0;
      let worst = 0;
      messages.forEach((message, i) => {
        const id = `predict-${i}-${message.label}`;
        const got = answers.get(id)!;
        const want = reference.get(id)!;
        expect(got.status, `${id}: ${JSON.stringify(got.body).slice(0, 300)}`).toBe(200);
        expect(got.body.label, id).toBe(want.body.label);
        expect(got.body.model, id).toEqual(want.body.model);
        expect(got.body.tier, id).toBe(want.body.tier);
        expect(got.body.degraded, id).toBe(want.body.degraded);
        worst = Math.max(worst, maxScoreDiff(got.body.scores, want.body.scores));
        if (got.body.label === message.label) correct++;
      });
      expect(worst).toBeLessThanOrEqual(1e-6);
      // The edge model is ~98 % accurate on the test split: a broken build would not be.
      expect(correct).toBeGreaterThanOrEqual(36);
    });

    it('answers KServe V2 infer, metadata and readiness as the reference does', () => {
      for (const id of ['kserve-text', 'kserve-ids']) {
        const got = answers.get(id)!;
        const want = reference.get(id)!;
        expect(got.status, JSON.stringify(got.body).slice(0, 300)).toBe(200);
        expect(got.body.model_name).toBe('spam-edge');
        const gotOut = got.body.outputs.find((o: { name: string }) => o.name === 'probabilities');
        const wantOut = want.body.outputs.find((o: { name: string }) => o.name === 'probabilities');
        expect(gotOut.shape).toEqual([1, 2]);
        for (let k = 0; k < 2; k++) expect(Math.abs(gotOut.data[k] - wantOut.data[k])).toBeLessThanOrEqual(1e-6);
      }
      const meta = answers.get('kserve-metadata')!;
      expect(meta.status).toBe(200);
      expect(meta.body.name).toBe('spam-edge');
      expect(meta.body.versions).toEqual(reference.get('kserve-metadata')!.body.versions);
      expect(meta.body.inputs).toEqual(reference.get('kserve-metadata')!.body.inputs);
      expect(JSON.stringify(meta.body)).toContain('micro');
      expect(answers.get('kserve-ready')!.status).toBe(200);
      expect(answers.get('kserve-ready')!.body).toEqual({ ready: true });
      expect(answers.get('healthz')!.body).toEqual({ status: 'ok' });
    });

    it('gives every bad input the same status and error code as the reference', () => {
      for (const [id, [status, code]] of Object.entries(EXPECTED_ERRORS)) {
        const got = answers.get(id)!;
        expect({ id, status: got.status, code: got.body?.error?.code }).toEqual({ id, status, code });
        expect({ id, status: reference.get(id)!.status, code: reference.get(id)!.body?.error?.code }).toEqual({ id, status, code });
        expect(typeof got.body.error.message).toBe('string');
      }
    });

    it('serves the dashboard data with the admin token', () => {
      const data = answers.get('dashboard-token')!;
      expect(data.status, JSON.stringify(data.body).slice(0, 300)).toBe(200);
      expect(data.body).toEqual(expect.objectContaining({ scope: expect.any(String) }));
    });

    it('warms with the admin token and reports each step with its duration', () => {
      const warm = answers.get('warm')!;
      expect(warm.status).toBe(200);
      expect(warm.body.warmed).toBe(true);
      expect(warm.body.cold).toBe(false); // predictions already loaded spam-edge
      expect(warm.body.steps.map((s: { step: string }) => s.step)).toEqual(['load_models', 'warmup_inference']);
      // Every model the build carries is loaded and ready (the spam example's on micro), and each had its warm inference.
      const loaded = warm.body.steps[0].detail as Array<{ model: string; status: string; engine?: string }>;
      expect(loaded).toEqual(expect.arrayContaining([expect.objectContaining({ model: 'spam-edge', status: 'ready', engine: 'micro' })]));
      for (const entry of loaded) expect(entry, entry.model).toMatchObject({ status: 'ready' });
      expect((warm.body.steps[1].detail as Array<{ model: string; error?: string }>).map((i) => [i.model, i.error])).toEqual(loaded.map((m) => [m.model, undefined]));
      for (const step of warm.body.steps) expect(step.ms).toBeGreaterThanOrEqual(0);
    });
  });
}

/**
 * For artifacts whose edge model runs on ORT (built from `ortModelsRoot()`): the golden
 * messages get the reference's labels (the micro engine), scores within 1e-5 (ORT's WASM
 * kernels against the micro engine's JavaScript), and metadata names ort-web.
 */
export function defineOrtEngineCheck(target: string, setup: () => Promise<{ invoke: Invoke; close?: () => Promise<void> }>): void {
  it(`${target}: the ORT build answers the golden messages as the reference does (scores within 1e-5)`, async () => {
    const { invoke, close } = await setup();
    const service = createReferenceService();
    try {
      const requests = goldenRequests().filter((r) => r.id.startsWith('predict-') || r.id === 'kserve-metadata');
      let worst = 0;
      for (const request of requests) {
        const got = await invoke(request);
        const want = await invokeService(service, request);
        expect(got.status, `${request.id}: ${JSON.stringify(got.body).slice(0, 300)}`).toBe(200);
        if (request.id === 'kserve-metadata') {
          expect(got.body.parameters.engine).toBe('ort-web');
          continue;
        }
        expect(got.body.label, request.id).toBe(want.body.label);
        worst = Math.max(worst, maxScoreDiff(got.body.scores, want.body.scores));
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
    } finally {
      await service.close();
      await close?.();
    }
  }, 240_000);
}
