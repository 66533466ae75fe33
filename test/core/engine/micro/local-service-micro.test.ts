// The local service with the micro engine registered (its default): the repository's
// `auto` edge model runs on micro, the `ort` regional model stays on ONNX Runtime, and the
// answers equal onnxruntime's within 1e-5.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_MODELS_ROOT } from '../../../../adapters/node/fs-model-source.ts';
import { createLocalService, localServiceOptionsFromEnv } from '../../../../adapters/node/local-service.ts';
import { createOrtNodeEngine } from '../../../../core/engine/ort-node/ort-node-engine.ts';
import { requireTextPreprocessing, parseManifest } from '../../../../core/model/manifest.ts';
import { createPreprocessor } from '../../../../core/preprocess/index.ts';

const BASE = 'http://local.test';

describe('local service with the micro engine (default)', () => {
  const options = localServiceOptionsFromEnv({ EDGEINFER_REGIONAL: 'none', EDGEINFER_CACHE_POLICY: 'off' });
  const service = createLocalService(options);
  afterAll(() => service.close());

  test('micro is on unless EDGEINFER_MICRO=0 turns it off', async () => {
    expect(options.micro).toBeUndefined();
    const off = createLocalService({ ...localServiceOptionsFromEnv({ EDGEINFER_MICRO: '0' }), regional: { kind: 'none' } });
    try {
      const edge = (await (await off.fetch(new Request(`${BASE}/v2/models/spam-edge`))).json()) as { parameters: { engine: string } };
      expect(edge.parameters.engine).toBe('ort-node');
    } finally {
      await off.close();
    }
  });

  test('auto picks micro for spam-edge, ort stays on ONNX Runtime, and answers match ort-node', async () => {
    const edge = (await (await service.fetch(new Request(`${BASE}/v2/models/spam-edge`))).json()) as { parameters: { engine: string } };
    expect(edge.parameters.engine).toBe('micro');
    const regional = (await (await service.fetch(new Request(`${BASE}/v2/models/spam-regional`))).json()) as { parameters: { engine: string } };
    expect(regional.parameters.engine).toBe('ort-node');

    const text = 'Subject: cheap meds\nFrom: a@b.example\n\nBuy now, limited offer, click here!';
    const response = await service.fetch(new Request(`${BASE}/v1/predict`, { method: 'POST', body: JSON.stringify({ text }), headers: { 'content-type': 'application/json' } }));
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { scores: { ham: number; spam: number }; model: { name: string } };
    expect(answer.model.name).toBe('spam-edge');

    const dir = join(DEFAULT_MODELS_ROOT, 'spam-edge', '1');
    const manifest = parseManifest(readFileSync(join(dir, 'model.json'), 'utf8'), 'model.json');
    const session = await (await createOrtNodeEngine()).load(new Uint8Array(readFileSync(join(dir, 'model.onnx'))), manifest);
    const ids = createPreprocessor(requireTextPreprocessing(manifest)).toIds(text);
    const reference = (await session.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: ids } })).probabilities!.data as Float32Array;
    await session.release();
    expect(Math.abs(answer.scores.ham - reference[0]!)).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(answer.scores.spam - reference[1]!)).toBeLessThanOrEqual(1e-5);
  });
});
