// /v1/predict with ids a client preprocessed itself ({ids, preprocessing}), on the example
// models: same answer as the text, 409 for a preprocessing the model does not serve,
// validation of the ids, text_required when the edge model is unsure, separate cache keys,
// and ids of the previous preprocessing (email-hash v1) answered by the version made for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CASCADE_CONFIG } from '../../../core/router/cascade.ts';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import type { InferenceService } from '../../../core/handler.ts';
import { assessConfidence } from '../../../core/router/confidence.ts';
import { edgeConfidencePolicy } from '../../../core/router/cascade.ts';
import { preprocessingFingerprint } from '../../../core/preprocess/fingerprint.ts';
import type { LoadedModel } from '../../../core/serving/loaded-model.ts';
import { loadSplits } from '../../../models/training/dataset.ts';

let service: InferenceService;
let edge: LoadedModel;
let confidentText: string;
let unsureText: string;

function post(body: unknown) {
  return service.fetch(
    new Request('http://edgeinfer.test/v1/predict', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  );
}

/** What the served (latest) spam-edge declares: email-hash v2. */
const PREPROCESSING = { id: 'email-hash', version: 2 };

beforeAll(async () => {
  // A generous regional budget: these tests are about what escalates, not about timing, and a loaded CI
  // machine can take longer than the default 250 ms for an in-process regional call.
  service = createLocalService({ modelsRoot: 'models', cache: { EDGEINFER_CACHE_POLICY: 'l1' }, config: { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000 } } });
  await service.warm();
  edge = await service.context.requireModel('spam-edge');
  // A confident and an unsure test-split message, as the server's own policy sees them.
  const policy = edgeConfidencePolicy(edge.manifest);
  for (const message of loadSplits().test) {
    if (message.text.length > 30_000) continue;
    const { scores } = await edge.classifyIds(edge.preprocessor.toIds(message.text));
    const confident = assessConfidence(edge.manifest.labels.map((l) => scores[l] as number), policy).confident;
    if (confident) confidentText ??= message.text;
    else unsureText ??= message.text;
    if (confidentText && unsureText) break;
  }
});
afterAll(async () => {
  await service.close();
});

describe('/v1/predict with client ids', () => {
  it('answers a confident message from ids exactly as from its text, under its own cache key', async () => {
    const ids = Array.from(edge.preprocessor.toIds(confidentText));
    const fromIds = (await (await post({ ids, preprocessing: PREPROCESSING })).json()) as Record<string, any>;
    const fromText = (await (await post({ text: confidentText })).json()) as Record<string, any>;
    expect(edge.manifest.preprocessing).toMatchObject(PREPROCESSING);
    expect(fromIds).toMatchObject({ tier: 'edge', degraded: false, cached: false, model: { name: 'spam-edge', version: edge.manifest.version } });
    expect(fromIds.label).toBe(fromText.label);
    expect(fromIds.scores).toEqual(fromText.scores);
    // The text request did not read the ids' entry (different key); no server preprocessing for ids.
    expect(fromText.cached).toBe(false);
    expect(fromIds.timings.preprocessMs).toBeUndefined();
    expect(fromText.timings.preprocessMs).toBeGreaterThanOrEqual(0);
    const again = (await (await post({ ids, preprocessing: PREPROCESSING })).json()) as Record<string, any>;
    expect(again).toMatchObject({ cached: true, cache: { level: 'l1' }, label: fromIds.label });
  });

  it('says text_required when the edge model is unsure (the regional model needs the text); the text escalates', async () => {
    const ids = Array.from(edge.preprocessor.toIds(unsureText));
    const fromIds = (await (await post({ ids, preprocessing: PREPROCESSING })).json()) as Record<string, any>;
    expect(fromIds).toMatchObject({ tier: 'edge', degraded: true, reason: 'text_required', model: { name: 'spam-edge' } });
    expect(fromIds.escalation).toBeUndefined();
    const fromText = (await (await post({ text: unsureText })).json()) as Record<string, any>;
    expect(fromText).toMatchObject({ tier: 'regional', degraded: false, model: { name: 'spam-regional' } });
  });

  it('rejects a preprocessing id or version it does not serve with 409 naming the expected one', async () => {
    for (const preprocessing of [
      { id: 'email-hash', version: 3 },
      { id: 'word-piece', version: 1 },
      // v1, but with params no version of spam-edge has: no version to route to.
      { id: 'email-hash', version: 1, fingerprint: '00000000' },
    ]) {
      const response = await post({ ids: [1, 2, 3], preprocessing });
      expect(response.status).toBe(409);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('preprocessing_mismatch');
      expect(error.message).toContain(`spam-edge@${edge.manifest.version} expects preprocessing email-hash v2`);
    }
  });

  it('answers a client still on email-hash v1 with spam-edge@1 (its ids, its fingerprint), as that version answers its text', async () => {
    const v1 = await service.context.requireModelVersion('spam-edge', '1');
    expect(v1.manifest.preprocessing).toMatchObject({ id: 'email-hash', version: 1 });
    // The client made its ids with v1's params, as an older client fetched them from GET /v2/models.
    const sent = { id: 'email-hash', version: 1, fingerprint: preprocessingFingerprint(v1.manifest.preprocessing!) };
    const ids = Array.from(v1.preprocessor.toIds(confidentText));
    // Plain ASCII: v1 and v2 make the same ids here, so only the weights tell who answered.
    const v2Scores = (await edge.classifyIds(new Int32Array(ids))).scores;
    for (const preprocessing of [sent, { id: 'email-hash', version: 1 }]) {
      const response = await post({ ids, preprocessing });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as Record<string, any>;
      expect(answer).toMatchObject({ tier: 'edge', model: { name: 'spam-edge', version: '1', sha256: v1.manifest.sha256 } });
      expect(answer.scores).toEqual((await v1.classifyIds(new Int32Array(ids))).scores);
      expect(answer.scores).not.toEqual(v2Scores);
    }
    // The latest version still answers plain requests.
    expect(((await (await post({ text: confidentText })).json()) as Record<string, any>).model).toMatchObject({ name: 'spam-edge', version: edge.manifest.version });
  });

  it('checks the params fingerprint when the client sends one (same id and version, other buckets → 409)', async () => {
    const own = preprocessingFingerprint(edge.manifest.preprocessing!);
    const ids = Array.from(edge.preprocessor.toIds(confidentText));
    expect((await post({ ids, preprocessing: { ...PREPROCESSING, fingerprint: own } })).status).toBe(200);
    const stale = preprocessingFingerprint({ ...edge.manifest.preprocessing!, params: { ...(edge.manifest.preprocessing!.params as object), buckets: 4096 } });
    expect(stale).not.toBe(own);
    const response = await post({ ids, preprocessing: { ...PREPROCESSING, fingerprint: stale } });
    expect(response.status).toBe(409);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error).toMatchObject({ code: 'preprocessing_mismatch' });
    expect(error.message).toContain(`params fingerprint ${own}`);
    expect(error.message).toContain('GET /v2/models/spam-edge');
  });

  it('validates ids and their preprocessing field (400 with what to fix)', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ids: [1, 2] }, /need field "preprocessing"/],
      [{ ids: [1, 2], preprocessing: 'email-hash' }, /must be an object/],
      [{ ids: [1, 2], preprocessing: { id: 'email-hash' } }, /"version": number/],
      [{ ids: [], preprocessing: PREPROCESSING }, /is empty/],
      [{ ids: [1, 8192], preprocessing: PREPROCESSING }, /ids\[1\] must be an integer in \[0, 8192\)/],
      [{ ids: [1.5], preprocessing: PREPROCESSING }, /ids\[0\] must be an integer/],
      [{ ids: 'abc', preprocessing: PREPROCESSING }, /must be an array of integers/],
      [{ ids: new Array(513).fill(1), preprocessing: PREPROCESSING }, /at most 512/],
      [{ ids: [1], text: 'hello', preprocessing: PREPROCESSING }, /either "text" or "ids"/],
    ];
    for (const [body, message] of cases) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_request');
      expect(error.message).toMatch(message);
    }
  });

  it('GET /v2/models/spam-edge carries the preprocessing params a client needs', async () => {
    const response = await service.fetch(new Request('http://edgeinfer.test/v2/models/spam-edge'));
    const metadata = (await response.json()) as { parameters: { preprocessing: unknown } };
    expect(metadata.parameters.preprocessing).toEqual({ ...edge.manifest.preprocessing!, fingerprint: preprocessingFingerprint(edge.manifest.preprocessing!) });
  });
});
