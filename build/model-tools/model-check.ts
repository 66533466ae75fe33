// `npm run model:check [-- <name>...] [--models-dir DIR] [--runs N]`: loads every model of the
// repository (or the named ones) on every engine this machine has that could run it, as the
// local server would (micro, then onnxruntime-node, then onnxruntime-web), and prints one
// table: signature, the engine the server chooses and why the others were passed over, load +
// warmup milliseconds, and the inference p50 over N runs of the warmup inputs. A model that
// cannot load is one row with the reason; the command exits 1 when any model cannot be served.
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_ROOT, FsModelSource } from '../../adapters/node/fs-model-source.ts';
import { createNodeMicroEngine } from '../../adapters/node/micro-engine.ts';
import { createNodeOrtWebEngine } from '../../adapters/node/ort-wasm-binary.ts';
import { createOrtNodeEngine } from '../../core/engine/ort-node/ort-node-engine.ts';
import { EngineRegistry } from '../../core/engine/registry.ts';
import { enginePreference } from '../../core/engine/select.ts';
import type { EngineName, TensorMap } from '../../core/engine/types.ts';
import type { ModelManifest } from '../../core/model/manifest.ts';
import { latestVersions, loadVerifiedModel } from '../../core/model/repository.ts';
import { firstWarmupRequest, loadModel, type LoadedModel } from '../../core/serving/loaded-model.ts';
import { formatTensor } from './onnx-signature.ts';

/** The local server's ORT order (adapters/node/local-service.ts). */
const ORT_PREFERENCE: readonly EngineName[] = ['ort-node', 'ort-web'];

const FACTORIES: Record<EngineName, () => Promise<import('../../core/engine/types.ts').Engine>> = {
  micro: async () => createNodeMicroEngine(),
  'ort-node': () => createOrtNodeEngine(),
  'ort-web': () => createNodeOrtWebEngine(),
};

/** One engine's result for one model. */
export interface EngineCheck {
  engine: EngineName;
  ok: boolean;
  /** Load + verify + warmup, ms (when ok). */
  loadMs?: number;
  /** Median of `runs` inferences on the warmup inputs, ms (when ok). */
  p50Ms?: number;
  /** Why it cannot run the model (when not ok). */
  reason?: string;
}

/** model:check's finding for one model. */
export interface ModelCheck {
  model: string;
  /** `inputs → outputs` in short form, or undefined when model.json did not load. */
  signature?: string;
  /** The engine the local server serves it with (the first that runs it in preference order). */
  chosen?: EngineName;
  engines: EngineCheck[];
  /** Set when the model cannot be served at all. */
  error?: string;
}

function signatureOf(manifest: ModelManifest): string {
  const inputs = manifest.inputs.map((t) => {
    const source = (t as { source?: string }).source;
    return `${formatTensor(t)}${source && source !== 'request' ? ` (${source})` : ''}`;
  });
  const outputs = manifest.outputs.map((t) => formatTensor(t));
  const meaning = (manifest as { output?: { kind: string; labels?: readonly string[] } }).output;
  const kind = meaning ? (meaning.kind === 'classification' ? `classification [${(meaning.labels ?? []).join(', ')}]` : meaning.kind) : `classification [${manifest.labels.join(', ')}]`;
  return `${inputs.join(', ')} → ${outputs.join(', ')}; ${kind}`;
}

async function timeRuns(model: LoadedModel, runs: number): Promise<number> {
  // The inputs warmup ran on (model.json's first warmup request, else the generated one).
  const feeds = (await model.assemble(firstWarmupRequest(model), { offline: true })).feeds;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await model.run(feeds);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor((samples.length - 1) / 2)]!;
}

/** Checks models of `root` (all, or `names`) on every engine; resolves one finding per model. */
export async function checkModels(root: string, names: readonly string[] = [], runs = 50): Promise<ModelCheck[]> {
  const source = new FsModelSource(root);
  const latest = await latestVersions(source);
  const unknown = names.filter((n) => !latest.some((m) => m.name === n));
  if (unknown.length) throw new Error(`no model ${unknown.map((n) => `"${n}"`).join(', ')} in ${source.root} (models there: ${latest.map((m) => m.name).join(', ') || 'none'})`);
  const chosenModels = names.length ? latest.filter((m) => names.includes(m.name)) : latest;
  const results: ModelCheck[] = [];
  for (const { name, version } of chosenModels) {
    const id = `${name}@${version}`;
    let manifest: ModelManifest;
    try {
      manifest = (await loadVerifiedModel(source, name, version)).manifest;
    } catch (error) {
      results.push({ model: id, engines: [], error: (error as Error).message });
      continue;
    }
    const engines: EngineCheck[] = [];
    const tried = enginePreference(manifest, ORT_PREFERENCE);
    for (const engine of ['micro', ...ORT_PREFERENCE] as EngineName[]) {
      if (!tried.includes(engine)) engines.push({ engine, ok: false, reason: `model.json says "engine": "${manifest.engine}"` });
    }
    for (const engine of tried) {
      const registry = new EngineRegistry();
      registry.register(engine, FACTORIES[engine]);
      let model: LoadedModel | undefined;
      try {
        model = await loadModel(source, name, version, registry, [engine]);
        engines.push({ engine, ok: true, loadMs: model.loadMs, p50Ms: await timeRuns(model, runs) });
      } catch (error) {
        // The selection error repeats the model id and engine; keep the engine's own reason.
        const message = (error as Error).message.replace(`${id}: `, '').replace(/^no engine could load it \((.*)\)$/s, '$1').replace(`${engine}: `, '');
        engines.push({ engine, ok: false, reason: message });
      } finally {
        await model?.release().catch(() => {});
      }
    }
    const chosen = engines.find((e) => e.ok)?.engine;
    results.push({
      model: id,
      signature: signatureOf(manifest),
      ...(chosen ? { chosen } : { error: `no engine runs it: ${engines.map((e) => `${e.engine}: ${e.reason}`).join('; ')}` }),
      engines,
    });
  }
  return results;
}

const ms = (x: number | undefined) => (x === undefined ? '' : x < 1 ? x.toFixed(3) : x.toFixed(1));

/** The table model:check prints. */
export function formatChecks(checks: readonly ModelCheck[]): string {
  const rows: string[][] = [['model', 'signature', 'engine', 'load+warmup ms', 'p50 ms', 'other engines']];
  for (const c of checks) {
    const chosen = c.engines.find((e) => e.engine === c.chosen);
    const others = c.engines
      .filter((e) => e !== chosen)
      .map((e) => (e.ok ? `${e.engine}: runs too (load ${ms(e.loadMs)} ms, p50 ${ms(e.p50Ms)} ms)` : `${e.engine}: ${oneLine(e.reason ?? '')}`))
      .join(' | ');
    rows.push([c.model, c.signature ?? '-', c.chosen ?? 'NONE', ms(chosen?.loadMs), ms(chosen?.p50Ms), c.error && !c.chosen ? oneLine(c.error) : others || '-']);
  }
  const widths = rows[0]!.slice(0, 5).map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => [...r.slice(0, 5).map((cell, i) => cell.padEnd(widths[i]!)), r[5]].join('  ').trimEnd()).join('\n');
}

function oneLine(text: string, max = 240): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The CLI; returns the exit code (1 when a model cannot be served, 2 for bad arguments). */
export async function modelCheckMain(argv: string[], print: (line: string) => void = console.log, printError: (line: string) => void = console.error): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'models-dir': { type: 'string' }, runs: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } } });
    const runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be an integer ≥ 1, got ${JSON.stringify(values.runs)}`);
    const root = values['models-dir'] ?? process.env.EDGEINFER_MODELS_DIR ?? DEFAULT_MODELS_ROOT;
    const checks = await checkModels(root, positionals, runs);
    print(formatChecks(checks));
    if (values.json) print(JSON.stringify(checks));
    return checks.some((c) => !c.chosen) ? 1 : 0;
  } catch (error) {
    printError(`model:check: ${oneLine(error instanceof Error ? error.message : String(error), 1000)}`);
    return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await modelCheckMain(process.argv.slice(2));
  // onnxruntime-web's WASM keeps no handles, but ort-node's thread pool may; exit explicitly.
  process.exit();
}
