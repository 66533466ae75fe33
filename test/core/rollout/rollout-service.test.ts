// Rollout through the real handler and onnxruntime: two versions of one model (different
// seeded graphs), a sticky 50/50 split, shadow agreement against the versions' own answers,
// and an automatic rollback when the canary version cannot be served.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import type { RolloutConfig } from '../../../core/rollout/rollout.ts';
import type { DashboardData } from '../../../core/telemetry/dashboard-data.ts';
import { BAG, buildQuantizedBagModel } from '../engine/quantized-bag-graph.ts';
import { promtoolAvailable, promtoolCheck } from '../../helpers/promtool.ts';

const hasPromtool = promtoolAvailable('rollout gauges checked by promtool');

/** spam-edge versions 1 and 2 (seeds 21 and 22); `broken` gets a wrong sha256, so it refuses to load. */
function writeTwoVersions(broken?: '2'): { root: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-rollout-'));
  for (const [version, seed] of [['1', 21], ['2', 22]] as const) {
    const { bytes, manifest } = buildQuantizedBagModel(seed);
    const dir = join(root, 'spam-edge', version);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), bytes);
    const sha = broken === version ? '0'.repeat(64) : createHash('sha256').update(bytes).digest('hex');
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({
        ...manifest,
        name: 'spam-edge',
        version,
        sha256: sha,
        preprocessing: { id: 'email-hash', version: 1, params: { buckets: BAG.buckets, bodyChars: 2000, wordNgrams: 2, charNgrams: 0, extraHeaders: [], maxIds: 256 } },
      }),
    );
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const TEXTS = Array.from({ length: 200 }, (_, i) => `Subject: note ${i}\n\n${i % 3 ? 'lunch at noon, see the agenda' : 'WIN cash now, click here, free offer'} #${i}`);
// No regional pair, no cache: every answer is the chosen version's own.
const base = { cache: { EDGEINFER_CACHE_POLICY: 'off' }, config: { cascade: { enabled: false, measure: 'top' as const, budgetMs: 250, maxInFlight: 64, circuit: { failures: 5, windowMs: 10_000, halfOpenAfterMs: 5_000 } } } };

function service(root: string, rollout: RolloutConfig) {
  return createLocalService({ ...base, modelsRoot: root, rollout, micro: false });
}

async function predict(s: ReturnType<typeof service>, text: string, key?: string, waitUntil?: (p: Promise<unknown>) => void) {
  const response = await s.fetch(
    new Request('http://x/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'x-user-id': key } : {}) }, body: JSON.stringify({ text }) }),
    waitUntil ? { waitUntil } : {},
  );
  return { status: response.status, body: (await response.json()) as { label: string; model: { version: string }; error?: { code: string } } };
}

function metric(text: string, name: string, labels: Record<string, string>): number {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  return (family?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((n, m) => n + Number(m.value), 0);
}

const repos: Array<{ cleanup(): void }> = [];
afterAll(() => repos.forEach((r) => r.cleanup()));

describe('rollout through the handler (real onnxruntime, two model versions)', () => {
  it('splits 50/50 by the user header, sticky per user; per-arm metrics and weights in /metrics', async () => {
    const repo = writeTwoVersions();
    repos.push(repo);
    const s = service(repo.root, { 'spam-edge': { split: { '1': 50, '2': 50 } } });
    try {
      const first = new Map<string, string>();
      const perVersion: Record<string, number> = {};
      for (let i = 0; i < 400; i++) {
        const user = `user-${i % 200}`;
        const { status, body } = await predict(s, TEXTS[i % TEXTS.length] as string, user);
        expect(status).toBe(200);
        const seen = first.get(user);
        if (seen) expect(body.model.version).toBe(seen);
        else first.set(user, body.model.version);
        perVersion[body.model.version] = (perVersion[body.model.version] ?? 0) + 1;
      }
      // 200 users, each twice: the share of users on v2 is binomial(200, 0.5), within ±4.5 sd of 100.
      expect(Math.abs((perVersion['2'] ?? 0) / 2 - 100)).toBeLessThan(32);
      const text = await (await s.fetch(new Request('http://x/metrics'))).text();
      expect(metric(text, 'edgeinfer_rollout_requests_total', { version: '2', outcome: 'ok' })).toBe(perVersion['2']);
      expect(metric(text, 'edgeinfer_predictions_total', { model: 'spam-edge', version: '1' })).toBe(perVersion['1']);
      expect(metric(text, 'edgeinfer_rollout_weight', { version: '2' })).toBe(0.5);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('shadow: the candidate answers every request after the response; agreement equals the versions’ own answers, and shadows are not counted as predictions', async () => {
    const repo = writeTwoVersions();
    repos.push(repo);
    const only = (version: string) => service(repo.root, { 'spam-edge': { split: { [version]: 1 } } });
    const v1 = only('1');
    const v2 = only('2');
    const shadowed = service(repo.root, { 'spam-edge': { split: { '1': 1 }, shadow: { version: '2' } } });
    try {
      let expectedAgree = 0;
      for (const text of TEXTS.slice(0, 60)) if ((await predict(v1, text)).body.label === (await predict(v2, text)).body.label) expectedAgree++;
      const background: Array<Promise<unknown>> = [];
      for (const text of TEXTS.slice(0, 60)) expect((await predict(shadowed, text, undefined, (p) => void background.push(p))).body.model.version).toBe('1');
      await Promise.all(background);
      const status = shadowed.context.rollout?.get('spam-edge')?.status();
      expect(status?.shadow).toEqual({ version: '2', agree: expectedAgree, disagree: 60 - expectedAgree, errors: 0 });
      // The two seeded graphs do disagree sometimes: the comparison is not vacuous.
      expect(expectedAgree).toBeLessThan(60);
      const text = await (await shadowed.fetch(new Request('http://x/metrics'))).text();
      expect(metric(text, 'edgeinfer_predictions_total', {})).toBe(60);
      expect(metric(text, 'edgeinfer_shadow_total', { version: '2', result: 'agree' })).toBe(expectedAgree);
      const data = (await (await shadowed.fetch(new Request('http://x/dashboard/data'), { peerAddress: '127.0.0.1' })).json()) as DashboardData;
      expect(data.rollout.find((a) => a.version === '2')).toMatchObject({ role: 'shadow', weight: 0, requests: 0, shadowAgreement: expectedAgree / 60 });
    } finally {
      await Promise.all([v1.close(), v2.close(), shadowed.close()]);
    }
  }, 60_000);

  it('a canary that cannot be served (sha256 mismatch → 503) is rolled back automatically; then every user gets the baseline', async () => {
    const repo = writeTwoVersions('2');
    repos.push(repo);
    const s = service(repo.root, { 'spam-edge': { split: { '1': 80, '2': 20 }, canary: { version: '2', minRequests: 20 } } });
    try {
      let failed = 0;
      for (let i = 0; i < 300; i++) {
        const { status, body } = await predict(s, TEXTS[i % TEXTS.length] as string, `user-${i}`);
        if (status === 503) {
          expect(body.error?.code).toBe('model_not_ready');
          failed++;
        }
      }
      const status = s.context.rollout?.get('spam-edge')?.status();
      expect(status?.canary?.state).toBe('rolled_back');
      expect(status?.canary?.reason).toMatch(/error rate 100\.00%/);
      expect(failed).toBe(status?.canary?.arms['2']?.requests);
      expect(failed).toBeGreaterThanOrEqual(20);
      expect(failed).toBeLessThan(60);
      for (let i = 300; i < 400; i++) expect((await predict(s, 'Subject: hi', `user-${i}`)).body.model.version).toBe('1');
      const text = await (await s.fetch(new Request('http://x/metrics'))).text();
      expect(metric(text, 'edgeinfer_rollout_canary_state', { version: '2', state: 'rolled_back' })).toBe(1);
      expect(metric(text, 'edgeinfer_rollout_weight', { version: '2' })).toBe(0);
      if (hasPromtool) expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
      // The dashboard's rollout table shows the same story.
      const data = (await (await s.fetch(new Request('http://x/dashboard/data'), { peerAddress: '127.0.0.1' })).json()) as DashboardData;
      const canary = data.rollout.find((a) => a.version === '2');
      expect(canary).toMatchObject({ model: 'spam-edge', weight: 0, role: 'rolled_back', requests: failed, errorRate: 1 });
      expect(data.rollout.find((a) => a.version === '1')).toMatchObject({ weight: 1, role: 'baseline', requests: 400 - failed, errorRate: 0 });
      const html = await (await s.fetch(new Request('http://x/dashboard'), { peerAddress: '127.0.0.1' })).text();
      expect(html).toContain(`<tr data-arm="spam-edge@2"><td>spam-edge@2</td><td data-col="weight">0.0%</td>`);
    } finally {
      await s.close();
    }
  }, 60_000);
});
