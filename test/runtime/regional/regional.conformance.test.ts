// Conformance of the regional zip: `npm run build:regional`'s zip is unpacked (bundle,
// onnxruntime-node's Linux binaries, models), its handler is served by the local Invoke API
// and called through the real @aws-sdk/client-lambda. Its answers on real test-split
// messages must equal the in-process regional function's (same labels, scores within
// 1e-6) and bad payloads must fail with the same errorType.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegionalLambda, regionalFeaturesFromEnv } from '../../../adapters/aws-lambda/regional-handler.ts';
import type { LambdaContext } from '../../../adapters/aws-lambda/lambda-types.ts';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import type { BuildResult } from '../../../build/pipeline.ts';
import { modelsForBuild } from '../../../build/model-tools/build-models.ts';
import { regionalWarmEvent } from '../../../build/targets/regional.ts';
import { goldenMessages, latestVersion } from '../conformance.ts';
import { startRegionalZip, type RegionalZip } from '../../helpers/regional-zip.ts';

let zip: RegionalZip;
let result: BuildResult;
const reference = createRegionalLambda({ models: new FsModelSource(), executionProviders: ['cpu'] });

beforeAll(async () => {
  zip = await startRegionalZip(mkdtempSync(join(tmpdir(), 'edgeinfer-regional-')));
  result = zip.result;
}, 180_000);

afterAll(async () => {
  await zip?.close();
  await reference.predictor.close();
});

const invokeZip = (payload: unknown) => zip.invoke(payload);

async function invokeReference(payload: unknown): Promise<{ ok: true; body: any } | { ok: false; errorType: string }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const context: LambdaContext = { awsRequestId: 'ref', functionName: 'edgeinfer-regional', getRemainingTimeInMillis: () => 30_000 };
  try {
    return { ok: true, body: await reference.handler(payload, context) };
  } catch (error) {
    return { ok: false, errorType: (error as Error).name };
  }
}

describe('conformance: regional zip through the local Invoke API', () => {
  it('zips under 50 MB with only Linux x64 binaries and the regional model', () => {
    expect(result.sizes[0]!.zipBytes).toBeLessThan(50 * 1024 * 1024);
    const files = Object.keys(unzipSync(readFileSync(join(result.outDir, 'regional.zip'))));
    expect(files).toContain('index.mjs');
    expect(files).toContain('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node');
    expect(files.some((f) => f.includes('darwin') || f.includes('win32'))).toBe(false);
    expect(files).toContain(`models/spam-regional/${latestVersion('spam-regional')}/model.onnx`);
    expect(files.some((f) => f.startsWith('models/spam-edge'))).toBe(false);
  });

  it('its template serves the zip as unpacked here, with a live alias and optional provisioned concurrency', () => {
    const template = JSON.parse(readFileSync(join(result.outDir, 'template.json'), 'utf8'));
    const fn = template.Resources.RegionalFunction.Properties;
    // Every regional model the zip carries loads at init (the spam example's among them).
    expect(modelsForBuild({}, 'regional')).toContain('spam-regional');
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Environment: { Variables: { EDGEINFER_MODELS_DIR: '/var/task/models', EDGEINFER_PRELOAD: modelsForBuild({}, 'regional').join(',') } } });
    const alias = template.Resources.RegionalAlias.Properties;
    expect(alias.Name).toBe('live');
    expect(alias.FunctionVersion).toEqual({ 'Fn::GetAtt': ['RegionalVersion', 'Version'] });
    expect(alias.ProvisionedConcurrencyConfig['Fn::If'][0]).toBe('Provisioned');
    expect(template.Parameters.ProvisionedConcurrency.Default).toBe(0);
    expect(template.Resources.WarmSchedule.Properties.Targets[0].Arn).toEqual({ Ref: 'RegionalAlias' });
  });

  it("answers the warm schedule's event with a prediction, not a function error", async () => {
    const template = JSON.parse(readFileSync(join(result.outDir, 'template.json'), 'utf8'));
    const event = JSON.parse(template.Resources.WarmSchedule.Properties.Targets[0].Input);
    expect(event).toEqual(regionalWarmEvent('spam-regional'));
    const got = await invokeZip(event);
    expect(got.functionError).toBeUndefined();
    expect(got.body.model.name).toBe('spam-regional');
    expect(['ham', 'spam']).toContain(got.body.label);
  });

  it('answers real test-split messages as the in-process function does (labels equal, scores within 1e-6)', async () => {
    const messages = goldenMessages().slice(0, 16);
    let correct = 0;
    for (const [i, message] of messages.entries()) {
      const payload = { model: 'spam-regional', text: message.text, requestId: `golden-${i}`, deadlineMs: Date.now() + 20_000 };
      const got = await invokeZip(payload);
      const want = await invokeReference(payload);
      expect(got.functionError, JSON.stringify(got.body).slice(0, 300)).toBeUndefined();
      expect(want.ok).toBe(true);
      if (!want.ok) continue;
      expect(got.body.label).toBe(want.body.label);
      expect(got.body.model).toEqual(want.body.model);
      expect(got.body.executionProvider).toBe('cpu');
      for (const label of Object.keys(want.body.scores)) expect(Math.abs(got.body.scores[label] - want.body.scores[label])).toBeLessThanOrEqual(1e-6);
      if (got.body.label === message.label) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(14);
  });

  it('answers a fields request of the tabular regional model as the in-process function does: forwarded features, and the declared defaults (degraded) without a feature store', async () => {
    const fields = { origin: 'ORD', destination: 'LGA', hour: 17, day_of_week: 2, distance: 733 };
    const features = { features: [0.3, 0.4, 7, 0.25, 0.3, 6.5, 0.2, 4, 0.28, 8], embedding: [0.5, -0.2, 0.1, 0, 0.3, -0.6, 0.2, 0.1] };
    const forwarded = { model: 'flights-regional', fields, features, requestId: 'fields-1', deadlineMs: Date.now() + 20_000 };
    const alone = { model: 'flights-regional', fields, requestId: 'fields-2', deadlineMs: Date.now() + 20_000 };
    const ownFeatures = createRegionalLambda({ models: new FsModelSource(), executionProviders: ['cpu'], features: regionalFeaturesFromEnv({}) });
    try {
      for (const payload of [forwarded, alone]) {
        const got = await invokeZip(payload);
        expect(got.functionError, JSON.stringify(got.body).slice(0, 300)).toBeUndefined();
        const want = (await ownFeatures.handler(payload, { awsRequestId: 'ref', functionName: 'edgeinfer-regional', getRemainingTimeInMillis: () => 30_000 })) as { label: string; scores: Record<string, number>; degraded?: string };
        expect(got.body).toMatchObject({ model: { name: 'flights-regional' }, label: want.label });
        expect(got.body.degraded).toBe(want.degraded);
        for (const label of Object.keys(want.scores)) expect(Math.abs(got.body.scores[label] - (want.scores[label] as number))).toBeLessThanOrEqual(1e-6);
      }
      expect((await invokeZip(forwarded)).body.degraded).toBeUndefined();
      expect((await invokeZip(alone)).body.degraded).toBe('features_unavailable');
      // The two differ: forwarded values reach the model.
      expect((await invokeZip(forwarded)).body.scores).not.toEqual((await invokeZip(alone)).body.scores);
    } finally {
      await ownFeatures.predictor.close();
    }
  });

  it('fails bad payloads with the same errorType as the in-process function', async () => {
    const cases: Array<[unknown, string]> = [
      [{ model: 'spam-regional', requestId: 'x', deadlineMs: Date.now() + 10_000 }, 'InvalidRequest'],
      [{ model: 'spam-regional', text: 42, requestId: 'x', deadlineMs: Date.now() + 10_000 }, 'InvalidRequest'],
      [{ model: 'nope', text: 'hello', requestId: 'x', deadlineMs: Date.now() + 10_000 }, 'ModelNotFound'],
      [{ model: 'spam-regional', text: 'hello', requestId: 'x', deadlineMs: Date.now() - 1 }, 'DeadlineExceeded'],
      ['not an object', 'InvalidRequest'],
    ];
    for (const [payload, errorType] of cases) {
      const got = await invokeZip(payload);
      const want = await invokeReference(payload);
      expect({ payload, functionError: got.functionError, errorType: got.body.errorType }).toEqual({ payload, functionError: 'Unhandled', errorType });
      expect(want).toEqual({ ok: false, errorType });
    }
  });
});
