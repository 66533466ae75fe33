// GET /_warm in the core handler: 404 without a configured token, 401/403 JSON without the
// right one, and with it the model loads, the warmup inference and, where L2 holds hot
// keys, priming a new isolate's L1 (real Redis behind the local Upstash REST server): the
// primed prediction is then answered from L1 without running the model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import type { InferenceService } from '../../../core/handler.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';
import { edgeModelsRoot, goldenMessages } from '../../runtime/conformance.ts';

const TOKEN = 'warm-route-token';
const warm = (service: InferenceService, headers: Record<string, string> = {}) => service.fetch(new Request('http://x/_warm', { headers }));
const predict = (service: InferenceService, text: string) =>
  service.fetch(new Request('http://x/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) }));

describe('GET /_warm authorization', () => {
  it('is a 404 when no admin token is configured', async () => {
    const service = createLocalService({ modelsRoot: edgeModelsRoot(), micro: true, regional: { kind: 'none' } });
    const response = await warm(service, { authorization: `Bearer ${TOKEN}` });
    expect(response.status).toBe(404);
    expect((await response.json()).error.message).toContain('EDGEINFER_ADMIN_TOKEN');
    await service.close();
  });

  it('is a 401 with WWW-Authenticate without a bearer token, 403 with a wrong one', async () => {
    const service = createLocalService({ modelsRoot: edgeModelsRoot(), micro: true, regional: { kind: 'none' }, config: { adminToken: TOKEN } });
    const missing = await warm(service, { authorization: 'Basic abc' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await missing.json()).error.code).toBe('unauthorized');
    const wrong = await warm(service, { authorization: `Bearer ${TOKEN}x` });
    expect(wrong.status).toBe(403);
    expect((await wrong.json()).error.code).toBe('forbidden');
    // Neither call loaded anything.
    expect(service.context.models.state('spam-edge')).toBeUndefined();
    await service.close();
  });
});

describe('GET /_warm priming L1 from the hot keys in Redis', () => {
  let upstash: UpstashRestServer | undefined;
  let available = false;

  beforeAll(async () => {
    available = await redisAvailable('warm route (L1 priming)');
    if (available) upstash = await startLocalUpstash();
  });
  afterAll(async () => {
    await upstash?.close();
  });

  it('copies the hottest predictions into a new isolate, which then answers them from L1', async ({ skip }) => {
    if (!available) skip();
    // A generous Redis budget: the writing isolate's first calls pay connection setup, and
    // the 15 ms default would (correctly) skip them on a loaded machine.
    const cache = { UPSTASH_REDIS_REST_URL: upstash!.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN, EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_HOTKEY_SAMPLE_EVERY: '1', EDGEINFER_CACHE_BUDGET_MS: '2000' };
    const root = edgeModelsRoot();
    // Distinct per run, so keys left by an earlier run cannot make this pass.
    const messages = goldenMessages().slice(0, 5).map((m) => `${m.text}\n${crypto.randomUUID()}`);
    const first = createLocalService({ modelsRoot: root, micro: true, regional: { kind: 'none' }, cache, config: { adminToken: TOKEN } });
    for (const text of messages) for (let i = 0; i < 3; i++) expect((await predict(first, text)).status).toBe(200);
    await first.close(); // waits for the L2 writes and hot-key counts made after the responses

    const second = createLocalService({ modelsRoot: root, micro: true, regional: { kind: 'none' }, cache, config: { adminToken: TOKEN } });
    const response = await warm(second, { authorization: `Bearer ${TOKEN}` });
    expect(response.status).toBe(200);
    const report = await response.json();
    expect(report.cold).toBe(true);
    expect(report.steps.map((s: { step: string }) => s.step)).toEqual(['load_models', 'warmup_inference', 'prime_l1']);
    const primed = report.steps[2].detail[0];
    expect(primed.model).toBe('spam-edge');
    expect(primed.entries).toBeGreaterThanOrEqual(messages.length);
    const answer = await (await predict(second, messages[0]!)).json();
    expect(answer.cached).toBe(true);
    expect(answer.cache.level).toBe('l1');
    await second.close();
  });
});
