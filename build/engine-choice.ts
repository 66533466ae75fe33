// Build-time engine choice by speed: a model whose micro module compiles and fits is timed
// warm on micro and on onnxruntime-web, here in Node, on its first warmup request (runs
// interleaved, so both see the same machine load; median). The rule (README "Engines"):
//   1. model.json says "micro": micro;
//   2. a 1 MB tier (Vercel Hobby, Lambda@Edge viewer): micro, for size (ONNX Runtime alone is 3.7 MB gzip);
//   3. a function that carries no ONNX Runtime (Netlify, Vercel without --engines ort-web): micro;
//   4. otherwise the faster engine: micro unless onnxruntime-web is faster by more than ORT_FASTER_BY.
// Whenever micro is measured slower, the build reports it with both numbers, whatever it chose.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsModelSource } from '../adapters/node/fs-model-source.ts';
import { importMicroModule } from '../adapters/node/micro-module-loader.ts';
import { createNodeOrtWebEngine } from '../adapters/node/ort-wasm-binary.ts';
import { createMicroEngine } from '../core/engine/micro/micro-engine.ts';
import { EngineRegistry } from '../core/engine/registry.ts';
import type { Engine, TensorMap } from '../core/engine/types.ts';
import { loadVerifiedModel } from '../core/model/repository.ts';
import { firstWarmupRequest, loadModel, type LoadedModel } from '../core/serving/loaded-model.ts';
import { preprocessorModulesFor } from './preprocessors.ts';
import { formatBytes } from './size-budget.ts';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Budgets at or under this many bytes are the "1 MB tiers": ONNX Runtime never fits there. */
export const SMALL_TIER_BYTES = 1024 * 1024;
/**
 * onnxruntime-web replaces micro only when micro's median is this many times its median: a
 * shared build machine's noise must not flip the choice build to build, and an ORT isolate
 * also starts 0.4-1.2 s colder than a micro one.
 */
export const ORT_FASTER_BY = 1.2;
/** Untimed runs per engine before timing (after load + warmup), at least 3, stopped after WARM_MS. */
export const WARM_RUNS = 30;
export const WARM_MS = 400;
/** Interleaved timed runs per engine. */
export const TIMED_RUNS = 7;

/** Warm medians of one model on both engines, ms; `ortWebMs` absent when ORT was not timed or could not run it (`ortWebNote` says which). */
export interface EngineTimes {
  microMs: number;
  ortWebMs?: number;
  ortWebNote?: string;
  runs: number;
}

/** What {@link chooseEngine} decides from. */
export interface EngineChoiceInput {
  /** model.json `engine` ("ort" never reaches this choice). */
  requested: 'auto' | 'micro';
  /** The function bundles onnxruntime-web too. */
  carriesOrt: boolean;
  /** The function's size budget. */
  limitBytes: number;
  times: EngineTimes;
}

/** The engine, and the report line's reason (always set: the build prints it when micro is slower). */
export interface EngineDecision {
  engine: 'micro' | 'ort-web';
  /** True when micro measured slower than onnxruntime-web (the build reports the choice). */
  microSlower: boolean;
  reason: string;
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));

/** Both numbers as the report prints them. */
export function formatEngineTimes(t: EngineTimes): string {
  const ort = t.ortWebMs === undefined ? `onnxruntime-web ${t.ortWebNote ?? 'not timed'}` : `onnxruntime-web ${ms(t.ortWebMs)} ms`;
  return `warm median of ${t.runs} interleaved runs here: micro ${ms(t.microMs)} ms, ${ort}`;
}

/** The build's engine for one model on one function (the rule in the header). */
export function chooseEngine({ requested, carriesOrt, limitBytes, times }: EngineChoiceInput): EngineDecision {
  const microSlower = times.ortWebMs !== undefined && times.microMs > times.ortWebMs;
  const numbers = formatEngineTimes(times);
  if (requested === 'micro') return { engine: 'micro', microSlower, reason: `micro: model.json asks for it (${numbers})` };
  if (limitBytes <= SMALL_TIER_BYTES) return { engine: 'micro', microSlower, reason: `micro for size: ONNX Runtime (3.7 MB gzip) does not fit a ${formatBytes(limitBytes)} tier (${numbers})` };
  if (!carriesOrt) return { engine: 'micro', microSlower, reason: `micro: the only engine this function carries (${numbers})` };
  if (times.ortWebMs !== undefined && times.microMs > ORT_FASTER_BY * times.ortWebMs) {
    return { engine: 'ort-web', microSlower, reason: `onnxruntime-web: faster by more than ${ORT_FASTER_BY}x (${numbers})` };
  }
  return { engine: 'micro', microSlower, reason: `micro: ${microSlower ? `onnxruntime-web is not faster by more than ${ORT_FASTER_BY}x` : 'the faster'} (${numbers})` };
}

// One onnxruntime-web engine per build process: its WASM instantiates once.
let ortWeb: Promise<Engine> | undefined;

async function load(modelsRoot: string, name: string, version: string, engine: 'micro' | 'ort-web', factory: () => Promise<Engine>): Promise<LoadedModel> {
  const registry = new EngineRegistry();
  registry.register(engine, factory);
  return loadModel(new FsModelSource(modelsRoot), name, version, registry, engine === 'micro' ? [] : ['ort-web']);
}

/**
 * Times a model's micro module (`source`, the one the bundle embeds) and, where model.json
 * lets ONNX Runtime serve it (`withOrt`), onnxruntime-web on the same feeds.
 */
export async function timeEngines(modelsRoot: string, name: string, version: string, source: string, withOrt: boolean, runs = TIMED_RUNS): Promise<EngineTimes> {
  const module = await importMicroModule(source, `${name}-${version}-timing`);
  // The build process serves the model's preprocessing too, as the bundle does.
  const { manifest } = await loadVerifiedModel(new FsModelSource(modelsRoot), name, version);
  for (const m of preprocessorModulesFor([{ model: `${name}@${version}`, preprocessing: manifest.preprocessing }])) await import(join(REPO_ROOT, m));
  const micro = await load(modelsRoot, name, version, 'micro', async () => createMicroEngine({ compile: async () => module }));
  let ort: LoadedModel | undefined;
  let ortWebNote: string | undefined = withOrt ? undefined : 'not timed (model.json asks for micro)';
  try {
    if (withOrt) {
      try {
        ort = await load(modelsRoot, name, version, 'ort-web', () => (ortWeb ??= createNodeOrtWebEngine()));
      } catch (error) {
        ortWebNote = `could not run it (${(error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200)})`;
      }
    }
    const { feeds } = await micro.assemble(firstWarmupRequest(micro), { offline: true });
    const time = async (model: LoadedModel, f: TensorMap) => {
      const t0 = performance.now();
      await model.run(f);
      return performance.now() - t0;
    };
    // V8 optimises a micro module's per-node functions only after tens of calls (hey_jarvis:
    // 16 ms per run after 5, 0.36 ms after 30): untimed runs first, bounded in time for big models.
    const warmStart = performance.now();
    for (let i = 0; i < WARM_RUNS && (i < 3 || performance.now() - warmStart < WARM_MS); i++) {
      await micro.run(feeds);
      if (ort) await ort.run(feeds);
    }
    const microSamples: number[] = [];
    const ortSamples: number[] = [];
    for (let i = 0; i < runs; i++) {
      microSamples.push(await time(micro, feeds));
      if (ort) ortSamples.push(await time(ort, feeds));
    }
    return {
      microMs: median(microSamples),
      ...(ort ? { ortWebMs: median(ortSamples) } : {}),
      ...(ortWebNote ? { ortWebNote } : {}),
      runs,
    };
  } finally {
    await micro.release();
    await ort?.release();
  }
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
