// Issue #17 item 13: names from files and requests ("constructor", "__proto__", "toString") are
// looked up as own keys only (Map, Object.hasOwn or null-prototype objects), never found on
// Object.prototype. Before: a model named "constructor" escalated to a regional model called
// `function Object()` and always answered degraded function_error.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../adapters/node/local-service.ts';
import type { InferenceService } from '../../core/handler.ts';
import { Cascade, DEFAULT_CASCADE_CONFIG } from '../../core/router/cascade.ts';
import { Rollout } from '../../core/rollout/rollout.ts';
import { toClassification } from '../../core/serving/loaded-model.ts';
import { MetricsWindow } from '../../core/telemetry/metrics-window.ts';
import { renderPrometheus } from '../../core/telemetry/prometheus.ts';
import { classificationTensor, parseManifest, type ModelManifest } from '../../core/model/manifest.ts';

const MODELS = join(import.meta.dirname, '../../models');

describe('a model named "constructor"', () => {
  let service: InferenceService;
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'edgeinfer-constructor-'));
    // One version (the served one): every version folder would need renaming in its model.json.
    cpSync(join(MODELS, 'spam-edge', '2'), join(root, 'constructor', '2'), { recursive: true });
    const path = join(root, 'constructor', '2', 'model.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    // No regional model of its own: it answers at the edge.
    delete (manifest.cascade as Record<string, unknown> | undefined)?.regional;
    writeFileSync(path, JSON.stringify({ ...manifest, name: 'constructor' }));
    service = createLocalService({ modelsRoot: root, regional: { kind: 'in-process' }, telemetry: false });
    await service.warm();
  }, 60_000);
  afterAll(async () => {
    await service?.close();
  });

  it('has no regional route found on Object.prototype', () => {
    const cascade = new Cascade(DEFAULT_CASCADE_CONFIG, undefined);
    const noPair = { threshold: null };
    expect(cascade.routeFor({ name: 'constructor', cascade: noPair } as ModelManifest)).toBeUndefined();
    expect(cascade.routeFor({ name: '__proto__', cascade: noPair } as ModelManifest)).toBeUndefined();
  });

  it('answers at the edge, never degraded function_error', async () => {
    for (const text of ['Subject: lunch\n\nnoon works', 'Subject: FREE prize\n\nclick here now', 'Subject: re: report\n\nsee attached, thanks']) {
      const answer = await service.fetch(new Request('http://local/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'constructor', text }) }));
      const body = (await answer.json()) as { model: { name: string }; degraded: boolean; reason?: string };
      expect(answer.status).toBe(200);
      expect(body.model.name).toBe('constructor');
      expect(body.reason).not.toBe('function_error');
      expect(body.degraded).toBe(false);
    }
  });

  it('a request method spelled "constructor" is 405, not a call of Object', async () => {
    const answer = await service.fetch({ method: 'constructor', url: 'http://local/v1/predict', headers: { get: () => null }, body: null });
    expect(answer.status).toBe(405);
  });
});

describe('names on Object.prototype elsewhere', () => {
  it('a "__proto__" label is an own score', () => {
    const raw = JSON.parse(readFileSync(join(MODELS, 'spam-edge/1/model.json'), 'utf8')) as Record<string, unknown>;
    const manifest = parseManifest(JSON.stringify({ ...raw, labels: ['__proto__', 'spam'] }), 'test');
    const result = toClassification(manifest, { [classificationTensor(manifest)]: { dtype: 'float32', dims: [1, 2], data: new Float32Array([0.75, 0.25]) } });
    expect(Object.keys(result.scores)).toEqual(['__proto__', 'spam']);
    expect(result.scores.__proto__).toBe(0.75);
    expect(JSON.parse(JSON.stringify(result.scores))).toEqual(JSON.parse('{"__proto__": 0.75, "spam": 0.25}'));
  });

  it('a canary version "constructor" is not in a split that lacks it', () => {
    expect(() => new Rollout({ m: { split: { '1': 100 }, canary: { version: 'constructor' } } as never })).toThrow(/not in the split/);
  });

  it('a series named "constructor" renders as an untyped metric', () => {
    const window = new MetricsWindow(0, 1);
    window.inc('constructor', 1);
    window.observe('toString', 1);
    expect(() => renderPrometheus(window)).not.toThrow();
    expect(renderPrometheus(window)).toMatch(/# TYPE constructor untyped\nconstructor 1\n/);
  });
});
