// Per model and per function the build chooses the engine (micro when the graph compiles and
// fits, else ORT where the function carries it), embeds one copy of each model plus every
// file its model.json names, prints each model's share of the size budget, and refuses a
// function that cannot serve a model, naming the model, the engine problem and the fix.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../build/onnx/builder.ts';
import { bundleTargetFunctions, buildTarget, ModelServingError, REPO_ROOT } from '../../build/pipeline.ts';
import { netlifyTarget } from '../../build/targets/netlify.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { lambdaEdgeTarget } from '../../build/targets/lambda-edge.ts';
import { openWakeWordModels, writeModelRepo } from '../helpers/third-party-models.ts';

const SPAM_EDGE = join(REPO_ROOT, 'models/spam-edge/1');
const manifest = JSON.parse(readFileSync(join(SPAM_EDGE, 'model.json'), 'utf8')) as Record<string, unknown>;
const onnxBase64Head = readFileSync(join(SPAM_EDGE, 'model.onnx')).subarray(0, 300).toString('base64').slice(0, 200);

/** A models/ copy holding spam-edge with its model.json changed (and optionally another graph). */
function repoWith(change: (m: Record<string, unknown>) => Record<string, unknown>, graph?: Uint8Array): string {
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-pipeline-models-'));
  cpSync(SPAM_EDGE, join(root, 'spam-edge/1'), { recursive: true });
  if (graph) writeFileSync(join(root, 'spam-edge/1/model.onnx'), graph);
  const sha256 = createHash('sha256').update(readFileSync(join(root, 'spam-edge/1/model.onnx'))).digest('hex');
  writeFileSync(join(root, 'spam-edge/1/model.json'), JSON.stringify(change({ ...manifest, sha256 }), null, 2));
  return root;
}

/** Same signature as spam-edge (ids int32 → probabilities float32 [1,2]) through an op micro lacks. */
function graphMicroCannotCompile(): Uint8Array {
  const g = new GraphBuilder('g');
  g.input('ids', 'int32', [1, 'n']);
  const [x] = g.node('Cast', ['ids'], undefined, { to: { int: 1 } });
  const [y] = g.node('ReduceSum', [x!], undefined, { keepdims: { int: 1 } });
  g.node('Det', [y!], ['probabilities']);
  g.output('probabilities', 'float32', [1, 2]);
  return g.encode(17);
}

describe('engine choice per model and function', () => {
  it('serves spam-edge on micro with one copy: the compiled module, no .onnx bytes, and prints its budget share', async () => {
    const [fn] = await bundleTargetFunctions(netlifyTarget, { tier: 'default', baked: {} });
    // The repository's models/ holds other edge models too (the flights example); this is about spam-edge.
    const spam = fn!.models.filter((m) => m.model.startsWith('spam-edge@'));
    // Only the latest version (2, email-hash v2) is embedded: v1 stays in models/ for the node
    // server's v1-ids clients, an edge answers them 409 (update the client).
    expect(spam).toEqual([expect.objectContaining({ model: 'spam-edge@2', engine: 'micro', embedded: ['spam-edge/2/model.json'] })]);
    expect(spam[0]!.gzipBytes).toBeGreaterThan(50_000);
    const bundle = Buffer.from(fn!.files['edgeinfer.js']!).toString('latin1');
    expect(bundle).not.toContain(onnxBase64Head);
    const lines: string[] = [];
    const outDir = mkdtempSync(join(tmpdir(), 'edgeinfer-netlify-'));
    await buildTarget(netlifyTarget, { outDir, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/model spam-edge@2 in netlify\/edgeinfer: engine micro, [\d.]+ KB in the bundle, [\d.]+ KB gzip = [\d.]+% of the 20\.00 MB gzip budget/);
  });

  it('embeds the .onnx for a model ORT serves (engine "ort"), and says why micro was not used', async () => {
    const models = repoWith((m) => ({ ...m, engine: 'ort' }));
    // Lambda@Edge: the viewer-request function carries micro only, so the model is left to
    // origin-request (which carries ORT) and embeds the graph there.
    const [viewer, origin] = await bundleTargetFunctions(lambdaEdgeTarget, { tier: 'default', baked: {} }, models);
    expect(viewer!.models).toEqual([expect.objectContaining({ model: 'spam-edge@1', engine: 'none', embedded: [], microSkipped: expect.stringContaining('served by the lambda-edge function that carries ONNX Runtime') })]);
    expect(origin!.models).toEqual([expect.objectContaining({ engine: 'ort-web', embedded: ['spam-edge/1/model.json', 'spam-edge/1/model.onnx'] })]);
    const [vercel] = await bundleTargetFunctions(vercelTarget, { tier: 'enterprise', baked: {}, engines: ['micro', 'ort-web'] }, models);
    expect(vercel!.models).toEqual([
      expect.objectContaining({ model: 'spam-edge@1', engine: 'ort-web', microSkipped: 'model.json asks for engine "ort"', embedded: ['spam-edge/1/model.json', 'spam-edge/1/model.onnx'] }),
    ]);
  });

  it('refuses Netlify (micro only) a model asking for ORT, instead of building a function that answers 503', async () => {
    const models = repoWith((m) => ({ ...m, engine: 'ort' }));
    const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-netlify-')), 'out');
    const failure = await buildTarget(netlifyTarget, { outDir, modelsRoot: models }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelServingError);
    const message = (failure as Error).message;
    expect(message).toContain('netlify/edgeinfer cannot serve spam-edge@1: model.json asks for engine "ort", and this function carries no ONNX Runtime. Fix: ');
    expect(message).toContain('Netlify builds carry the micro engine only');
    expect(message).toContain('"role": "regional"');
  });

  it('falls back to ORT for a graph micro cannot compile where ORT is carried, and refuses it on a micro-only Vercel build', async () => {
    const models = repoWith((m) => m, graphMicroCannotCompile());
    const failure = await bundleTargetFunctions(vercelTarget, { tier: 'hobby', baked: {} }, models).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelServingError);
    expect((failure as Error).message).toMatch(
      /^vercel\/edgeinfer cannot serve spam-edge@1: the micro compiler cannot compile it \(node "Det_\d+" uses op Det.*\), and this function carries no ONNX Runtime\. Fix: build with --engines micro,ort-web --tier enterprise/,
    );
    const [fn] = await bundleTargetFunctions(vercelTarget, { tier: 'enterprise', baked: {}, engines: ['micro', 'ort-web'] }, models);
    expect(fn!.models[0]).toMatchObject({ engine: 'ort-web', microSkipped: expect.stringMatching(/^the micro compiler cannot compile it/) });
  });

  it('embeds every file the model.json names (a tokenizer.json in preprocessing.params.file)', async () => {
    const models = repoWith((m) => ({ ...m, preprocessing: { ...(m.preprocessing as object), params: { ...((m.preprocessing as { params: object }).params), file: 'tokenizer.json' } } }));
    writeFileSync(join(models, 'spam-edge/1/tokenizer.json'), JSON.stringify({ version: '1.0', marker: 'edgeinfer-test-tokenizer' }));
    const [fn] = await bundleTargetFunctions(netlifyTarget, { tier: 'default', baked: {} }, models).catch((error: unknown) => {
      throw error;
    });
    expect(fn!.models[0]!.embedded).toEqual(['spam-edge/1/model.json', 'spam-edge/1/tokenizer.json']);
    // Embedded as its UTF-8 text (a JSON file), made bytes when first read.
    const bundle = Buffer.from(fn!.files['edgeinfer.js']!).toString('utf8');
    expect(bundle).toContain('edgeinfer-test-tokenizer');
    expect(bundle).not.toContain(Buffer.from(readFileSync(join(models, 'spam-edge/1/tokenizer.json'))).toString('base64'));
  });
});

// The model.json validator (core/model/parse-manifest.ts) is left out of a bundle whose every
// model.json the build validated and embedded as its manifest literal (#18: ~16 KB of code a
// fresh isolate compiles); a manifest a literal cannot reproduce is parsed at the edge, with it.
describe('the model.json validator in edge bundles', () => {
  const VALIDATOR = 'must be 64 lower-case hex characters';
  const STUB = 'carries no model.json validator';

  it('is left out where every manifest is embedded validated', async () => {
    const [fn] = await bundleTargetFunctions(netlifyTarget, { tier: 'default', baked: {} });
    const bundle = Buffer.from(fn!.files['edgeinfer.js']!).toString('utf8');
    expect(bundle).not.toContain(VALIDATOR);
    expect(bundle).toContain(STUB);
  });

  it('stays in where a model.json has no literal (a -0 in it)', async () => {
    const root = repoWith((m) => ({ ...m, training: { loss: 'NEGATIVE_ZERO' } }));
    const path = join(root, 'spam-edge/1/model.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"NEGATIVE_ZERO"', '-0'));
    const [fn] = await bundleTargetFunctions(netlifyTarget, { tier: 'default', baked: {}, modelsRoot: root });
    const bundle = Buffer.from(fn!.files['edgeinfer.js']!).toString('utf8');
    expect(bundle).toContain(VALIDATOR);
    expect(bundle).not.toContain(STUB);
    expect(fn!.models).toEqual([expect.objectContaining({ model: 'spam-edge@1', engine: 'micro' })]);
  });
});

describe('models that fit alone but not together', () => {
  it('leaves the largest micro models out of the viewer-request function until it fits; origin-request serves them', async () => {
    // Real third-party graphs: each micro module is under 1 MB gzip, the two together are not.
    // (melspectrogram no longer serves here: its Conv runs as an FFT and its module is 8 KB.)
    const repo = writeModelRepo(openWakeWordModels().filter((m) => ['alexa', 'silero_vad'].includes(m.json.name)).map((m) => ({ ...m, json: { ...m.json, engine: 'auto' } })));
    try {
      const lines: string[] = [];
      const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-lambda-edge-')), 'out');
      const result = await buildTarget(lambdaEdgeTarget, { outDir, modelsRoot: repo.root, log: (l) => lines.push(l) });
      expect(result.sizes.every((s) => s.fits)).toBe(true);
      const [viewer, origin] = await bundleTargetFunctions(lambdaEdgeTarget, { tier: 'default', baked: {}, modelsRoot: repo.root }, repo.root);
      expect(viewer!.models.map((m) => [m.model, m.engine])).toEqual([['alexa@1', 'none'], ['silero_vad@1', 'micro']]);
      expect(viewer!.models[0]!.microSkipped).toMatch(/^with it \([\d.]+ KB gzip\) beside the others this function is [\d.]+ MB zip, over its 1\.00 MB budget; left out of this function, served by the lambda-edge function that carries ONNX Runtime$/);
      // Origin-request carries both engines: each model on the one its timing chose (build/engine-choice.ts).
      expect(origin!.models.map((m) => [m.model, m.engine])).toEqual([['alexa@1', origin!.models[0]!.choice!.engine], ['silero_vad@1', origin!.models[1]!.choice!.engine]]);
      expect(lines.join('\n')).toContain('model alexa@1 in lambda-edge/viewer-request: not embedded (with it');
      // A micro-only function with nothing to hand over still fails on size, naming what to change.
      const vercel = await buildTarget(vercelTarget, { outDir, tier: 'hobby', modelsRoot: repo.root }).catch((e: unknown) => e);
      expect((vercel as Error).message).toMatch(/^vercel\/edgeinfer is [\d.]+ MB gzip, over the 1\.00 MB limit of tier "hobby": embed fewer or smaller models.*, or choose a larger --tier/);
    } finally {
      repo.cleanup();
    }
  }, 120_000);
});

describe('CPU time per request', () => {
  it('times each micro model of a Netlify build and warns about one far over its 50 ms of CPU per request', async () => {
    const repo = writeModelRepo(openWakeWordModels().filter((m) => ['alexa', 'oww_embedding'].includes(m.json.name)).map((m) => ({ ...m, json: { ...m.json, engine: 'auto', ...(m.json.name === 'oww_embedding' ? { batch: { max: 16 }, warmup: [{ inputs: { input_1: { shape: [16, 76, 32, 1], data: [0.5], fill: true } } }] } : {}) } })));
    try {
      const lines: string[] = [];
      const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-netlify-cpu-')), 'out');
      await buildTarget(netlifyTarget, { outDir, modelsRoot: repo.root, log: (l) => lines.push(l) });
      const log = lines.join('\n');
      expect(log).toMatch(/model alexa@1 in netlify\/edgeinfer: engine micro, .*; inference [\d.]+ ms here/);
      // Timed on its warmup, a batch of 16 windows: the embedding model's micro inference is ~15–30 ms
      // per window here since the packed conv kernels (16 windows: far over 50 ms); alexa's ~1 ms.
      expect(log).toMatch(/warning: netlify\/edgeinfer serves oww_embedding@1 on micro, whose inference takes \d+ ms on this machine, over the 50 ms of CPU a request may use there/);
      expect(log).not.toMatch(/warning: .* serves alexa@1/);
    } finally {
      repo.cleanup();
    }
  }, 120_000);
});

describe('size advice never suggests the tier the build is on', () => {
  it('tells a Hobby build whose model is too large for it the tier where it fits, and not ORT, which cannot carry it', async () => {
    const repo = writeModelRepo(openWakeWordModels().filter((m) => m.json.name === 'hey_jarvis').map((m) => ({ ...m, json: { ...m.json, engine: 'auto' } })));
    try {
      const failure = await bundleTargetFunctions(vercelTarget, { tier: 'hobby', baked: {}, modelsRoot: repo.root }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ModelServingError);
      expect((failure as Error).message).toMatch(/^vercel\/edgeinfer cannot serve hey_jarvis@1: its micro module is 1\.\d\d MB gzip, over the 1\.00 MB budget of this function, and this function carries no ONNX Runtime\. Fix: build with --tier pro \(2\.00 MB gzip\), where its 1\.\d\d MB micro module fits; or mark it "role": "regional"/);
      // ORT's WASM (3.5 MB gzip) beside a 1.2 MB graph is over Enterprise's 4 MB: never suggested.
      expect((failure as Error).message).not.toContain('ort-web');
      const [fn] = await bundleTargetFunctions(vercelTarget, { tier: 'pro', baked: {}, modelsRoot: repo.root });
      expect(fn!.size.fits).toBe(true);
    } finally {
      repo.cleanup();
    }
  }, 120_000);

  it('tells an Enterprise micro build that cannot serve a model to add ORT, not to choose Enterprise', async () => {
    const models = repoWith((m) => m, graphMicroCannotCompile());
    const failure = await bundleTargetFunctions(vercelTarget, { tier: 'enterprise', baked: {} }, models).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelServingError);
    expect((failure as Error).message).toMatch(/Fix: build with --engines micro,ort-web \(ONNX Runtime with this graph is [\d.]+ MB gzip: it fits only Vercel enterprise\)/);
    expect((failure as Error).message).not.toContain('--tier');
  });

  it('tells an Enterprise ORT build what else to change', () => {
    const [spec] = vercelTarget.functions({ tier: 'enterprise', baked: {}, engines: ['micro', 'ort-web'] });
    const advice = vercelTarget.advice(spec!, 'enterprise');
    expect(advice).not.toContain('--tier enterprise');
    expect(advice).toContain('drop --engines ort-web');
    expect(vercelTarget.advice(spec!, 'hobby')).toContain('--tier enterprise');
    const [micro] = vercelTarget.functions({ tier: 'enterprise', baked: {} });
    expect(vercelTarget.advice(micro!, 'enterprise')).not.toMatch(/--tier/);
    expect(vercelTarget.advice(micro!, 'pro')).toContain('--tier enterprise');
  });
});

