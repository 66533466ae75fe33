// One esbuild pipeline for every provider target (after Nitro's presets): a target in
// build/targets/ is data (its functions, which models and engines each embeds, its entry
// and the manifests it writes); this module embeds the models, compiles their micro
// modules, bundles each function, measures it against the target's size budget and hands
// the results to the target's `write` hook.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';
import { zipSync } from 'fflate';
import { FsModelSource } from '../adapters/node/fs-model-source.ts';
import { loadVerifiedModel, latestVersions } from '../core/model/repository.ts';
import { parseManifest } from '../core/model/manifest.ts';
import { isDeepStrictEqual } from 'node:util';
import { microModuleKey } from '../core/engine/micro/micro-engine.ts';
import type { PreprocessingSpec } from '../core/preprocess/index.ts';
import { compileDeclaredModel } from './micro/compile-model.ts';
import { chooseEngine, timeEngines, type EngineDecision, type EngineTimes } from './engine-choice.ts';
import { preprocessorModulesFor } from './preprocessors.ts';
import { MicroCompileError } from './micro/errors.ts';
import { compileProgressPrinter } from './micro/progress.ts';
import { readOrtWasmBinary } from '../adapters/node/ort-wasm-binary.ts';
import { checkSize, formatBytes, formatModelShares, formatSizeTable, SIZE_LIMITS, SizeBudgetError, type ArtifactSize, type SizeTier } from './size-budget.ts';

/** The repository root (absolute, with a trailing slash). */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Imports a target's entry may use (absolute paths, already JSON-quoted). */
export interface EntryImports {
  /** Module exporting `files` (path → bytes) of the embedded models. */
  models: string;
  /** Module exporting `microModules` and `microCompileFailures`. */
  micro: string;
  /** Resolves a repository-relative path to an importable, JSON-quoted specifier. */
  repo(path: string): string;
}

/** One function of a target. */
export interface FunctionSpec {
  name: string;
  /** Bundle file name inside the function's folder. */
  file: string;
  /** Models embedded (latest version of each). */
  models: readonly string[];
  /** Models the function reads from files beside the bundle (latest version): their preprocessings are registered too. */
  modelsFromFiles?: readonly string[];
  /** Engines the bundle carries; without "ort-web" no ORT code is bundled. */
  engines: ReadonlyArray<'micro' | 'ort-web'>;
  /** Entry source (an ES module); `baked` is the JSON of baked configuration, if any. */
  entry(imports: EntryImports): string;
  /** Size budget family in SIZE_LIMITS. */
  budget: keyof typeof SIZE_LIMITS;
  /** Packed as a zip (Lambda) rather than a folder. */
  zip?: boolean;
  /** Extra files beside the bundle (name → bytes), e.g. the ORT WASM runtime. */
  extraFiles?(): Promise<Record<string, Uint8Array>>;
  /** CPU time the provider allows one request, ms (Netlify: 50): micro models are timed against it. */
  cpuBudgetMs?: number;
  /** esbuild: platform and packages left out of the bundle. */
  platform?: 'browser' | 'node';
  external?: string[];
}

/** What the pipeline produced for one function. */
export interface BuiltFunction {
  spec: FunctionSpec;
  /** File name → bytes: the bundle and its extra files. */
  files: Record<string, Uint8Array>;
  size: ArtifactSize;
  zip?: Uint8Array;
  /** Bundle bytes by contributor (package, or repository folder), largest first, before compression. */
  composition: Array<{ source: string; bytes: number }>;
  /** Each embedded model: the engine chosen for it and its share of the bundle. */
  models: ModelPlan[];
}

/** A deployment target. */
export interface BuildTarget {
  name: string;
  /** Default output folder (relative to the repository root). */
  defaultOut: string;
  tiers: readonly string[];
  defaultTier: string;
  functions(options: TargetOptions): FunctionSpec[];
  /** Writes the provider's layout and manifests; returns the files written (relative to out). */
  write(outDir: string, built: BuiltFunction[], options: TargetOptions): Promise<string[]>;
  /** What to change when a function is over its budget. */
  advice(fn: FunctionSpec, tier: string): string;
}

/** Options every target accepts. */
export interface TargetOptions {
  tier: string;
  /** Configuration baked into bundles (Lambda@Edge has no environment variables). */
  baked: Record<string, string>;
  /** Engines requested with --engines (targets choose their default). */
  engines?: Array<'micro' | 'ort-web'>;
  /** Models requested with --models; default: every model of the function's role (build/model-tools/build-models.ts). */
  models?: readonly string[];
  /** The model repository targets list models from (default: the repository's models/). */
  modelsRoot?: string;
}

/** Result of a build. */
export interface BuildResult {
  target: string;
  outDir: string;
  sizes: ArtifactSize[];
  written: string[];
}

function tierOf(budget: FunctionSpec['budget'], tier: string): { name: string; tier: SizeTier } {
  const tiers = SIZE_LIMITS[budget] as Record<string, SizeTier>;
  if (tiers[tier]) return { name: tier, tier: tiers[tier] };
  return { name: 'default', tier: tiers.default as SizeTier };
}

/** How one function serves one embedded model, decided at build time. */
export interface ModelPlan {
  /** "name@version". */
  model: string;
  /** "none": left out of this function because another function of the target serves it with ORT. */
  engine: 'micro' | 'ort-web' | 'none';
  /** Why micro was not chosen (ORT models), or undefined. */
  microSkipped?: string;
  /** Repository paths embedded as bytes (model.json, files it names, the .onnx for ORT). */
  embedded: string[];
  /** Bytes of this model in the bundle (its generated modules, minified), and their gzip alone. */
  bundleBytes: number;
  gzipBytes: number;
  /** Median ms of the micro module on the model's warmup inputs, on the build machine (every model micro could serve). */
  microMs?: number;
  /** The speed-aware engine choice (build/engine-choice.ts), where micro compiled and fit. */
  choice?: EngineDecision & { times: EngineTimes };
  /** Why the engines could not be timed (the model kept micro, as before timing). */
  timingError?: string;
}

/** Raised when a function cannot serve a model it embeds; the message names the model, the engine problem and the fix. */
export class ModelServingError extends Error {
  constructor(
    readonly target: string,
    readonly fn: string,
    readonly model: string,
    problem: string,
    fix: string,
  ) {
    super(`${target}/${fn} cannot serve ${model}: ${problem}. Fix: ${fix}`);
    this.name = 'ModelServingError';
  }
}

// Paths a manifest names beside its graph: the graph itself and `preprocessing.params.file`
// (a tokenizer.json). Only plain relative paths inside the version folder are accepted.
function namedFiles(manifest: { file: string; preprocessing?: unknown }, where: string): string[] {
  const params = (manifest.preprocessing as { params?: { file?: unknown } } | undefined)?.params;
  const extra = params && typeof params.file === 'string' ? [params.file] : [];
  for (const file of extra) {
    if (!/^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/.test(file) || file.split('/').includes('..')) {
      throw new Error(`${where}: preprocessing.params.file must be a relative path inside the model's folder, got "${file}"`);
    }
  }
  return extra;
}

/** What the fix for a model a function cannot serve depends on. */
interface FixContext {
  target: string;
  spec: FunctionSpec;
  ortElsewhere: boolean;
  tier: string;
  /** Gzip bytes of the model's micro module, when it compiled. */
  microGzip?: number;
  /** Gzip bytes of the .onnx (what an ORT build embeds). */
  graphGzip: number;
}

// Gzip bytes of the ORT WASM runtime, measured once (only a refused build asks).
let ortWasmGzip: Promise<number> | undefined;

/** The fixes for a refused model, only those that would work: a tier where it fits, ORT where ORT and the graph fit. */
async function fixFor({ target, spec, ortElsewhere, tier, microGzip, graphGzip }: FixContext): Promise<string> {
  const fixes: string[] = [];
  if (spec.engines.includes('ort-web')) fixes.push('set "engine": "auto" or "ort" in its model.json so ONNX Runtime serves it');
  else if (ortElsewhere) fixes.push(`leave it to the ${target} function that carries ONNX Runtime (--models for this function without it)`);
  else {
    const tiers = Object.entries(SIZE_LIMITS[spec.budget] as Record<string, SizeTier>).sort(([, a], [, b]) => a.limitBytes - b.limitBytes);
    const current = tierOf(spec.budget, tier).tier.limitBytes;
    // Never suggest the tier the build is already on, nor one where the model does not fit either.
    const larger = microGzip === undefined ? undefined : tiers.find(([, t]) => t.limitBytes > current && microGzip < t.limitBytes);
    if (larger) fixes.push(`build with --tier ${larger[0]} (${formatBytes(larger[1].limitBytes)} ${larger[1].measure}), where its ${formatBytes(microGzip!)} micro module fits`);
    if (target === 'vercel') {
      ortWasmGzip ??= readOrtWasmBinary().then((bytes) => gzipSync(bytes, { level: 9 }).length);
      const ortBytes = (await ortWasmGzip) + graphGzip;
      const [topName, top] = tiers.at(-1)!;
      if (ortBytes < top.limitBytes) fixes.push(`build with --engines micro,ort-web${tier === topName ? '' : ` --tier ${topName}`} (ONNX Runtime with this graph is ${formatBytes(ortBytes)} gzip: it fits only Vercel ${topName})`);
      else if (!larger) fixes.push(`ONNX Runtime cannot carry it on Vercel either (its WASM with this graph is ${formatBytes(ortBytes)} gzip, over ${topName}'s ${formatBytes(top.limitBytes)})`);
    } else if (target === 'netlify') {
      fixes.push('Netlify builds carry the micro engine only: serve it from a target with ONNX Runtime (lambda-edge origin-request, vercel --engines micro,ort-web --tier enterprise where it fits)');
    }
  }
  fixes.push(`${fixes.length ? 'or ' : ''}mark it "role": "regional" so the regional function serves it, or leave it out with --models`);
  return fixes.join('; ');
}

/** State one function's build keeps across its attempts (see {@link buildFunction}). */
interface FunctionBuildState {
  /** Models left out of this function, name@version → why (it would not fit beside the others). */
  leftOut: Map<string, string>;
  /** Micro modules compiled so far, by name@version and microModuleKey (a retry does not compile again). */
  compiled: Map<string, { source: string; gzip: number } | MicroCompileError>;
  /** Engine timings, by name@version, sha256 and whether ORT was timed: shared by a target's functions. */
  timings: Map<string, Promise<EngineTimes>>;
}

async function writeGenerated(
  dir: string,
  spec: FunctionSpec,
  target: { name: string; ortElsewhere: boolean; tier: string },
  modelsRoot: string,
  budgetBytes: number,
  state: FunctionBuildState,
): Promise<{ plans: Array<Omit<ModelPlan, 'bundleBytes' | 'gzipBytes'> & { generated: string[] }>; preprocessors: string[]; manifestsValidated: boolean }> {
  const { models: modelNames, engines } = spec;
  const source = new FsModelSource(modelsRoot);
  const latest = new Map((await latestVersions(source)).map((m) => [m.name, m.version]));
  const modelImports: string[] = [];
  const microEntries: string[] = [];
  const failures: Record<string, string> = {};
  const plans: Array<Omit<ModelPlan, 'bundleBytes' | 'gzipBytes'> & { generated: string[] }> = [];
  // The preprocessings of the models this function serves (not those left to another function).
  const declared: Array<{ model: string; preprocessing?: PreprocessingSpec | undefined }> = [];
  // Every model.json embedded with the manifest literal the build validated (none read from files at run time).
  let manifestsValidated = spec.modelsFromFiles === undefined;
  for (const name of spec.modelsFromFiles ?? []) {
    const version = latest.get(name);
    if (!version) throw new Error(`model "${name}" is not in ${modelsRoot} (run \`npm run models\`)`);
    declared.push({ model: `${name}@${version}`, preprocessing: (await loadVerifiedModel(source, name, version)).manifest.preprocessing });
  }
  const refuse = async (model: string, problem: string, sizes: { microGzip?: number; graph: Uint8Array }) =>
    new ModelServingError(target.name, spec.name, model, problem, await fixFor({ target: target.name, spec, ortElsewhere: target.ortElsewhere, tier: target.tier, ...(sizes.microGzip === undefined ? {} : { microGzip: sizes.microGzip }), graphGzip: gzipSync(sizes.graph, { level: 9 }).length }));
  for (const [index, name] of modelNames.entries()) {
    const version = latest.get(name);
    if (!version) throw new Error(`model "${name}" is not in ${modelsRoot} (run \`npm run models\`)`);
    // The sha256 is checked here, at build time; a micro-only bundle never hashes at cold start.
    const model = await loadVerifiedModel(source, name, version);
    const label = `${name}@${version}`;
    const manifest = model.manifest as typeof model.manifest & { engine: string };
    const jsonPath = `${name}/${version}/model.json`;
    const graphPath = `${name}/${version}/${manifest.file}`;
    const extra = namedFiles(manifest, source.describe(jsonPath)).map((file) => `${name}/${version}/${file}`);
    let engine: ModelPlan['engine'] | undefined;
    let microSkipped: string | undefined;
    let microGzip: number | undefined;
    let choice: ModelPlan['choice'];
    let timingError: string | undefined;
    const generated: string[] = [];
    const leftOut = state.leftOut.get(label);
    if (leftOut !== undefined) {
      plans.push({ model: label, engine: 'none', microSkipped: `${leftOut}; left out of this function, served by the ${target.name} function that carries ONNX Runtime`, embedded: [], generated: [] });
      continue;
    }
    if (manifest.engine === 'ort') microSkipped = 'model.json asks for engine "ort"';
    else if (!engines.includes('micro')) microSkipped = 'this function carries no micro engine';
    else {
      try {
        let compiled = state.compiled.get(`${label} ${microModuleKey(manifest.sha256, manifest)}`);
        if (!compiled) {
          try {
            const onProgress = compileProgressPrinter(`build ${spec.name} ${label}`);
            const { source } = compileDeclaredModel(model.bytes, manifest, onProgress ? { onProgress } : {});
            compiled = { source, gzip: gzipSync(source, { level: 9 }).length };
          } catch (error) {
            if (!(error instanceof MicroCompileError)) throw error;
            compiled = error;
          }
          state.compiled.set(`${label} ${microModuleKey(manifest.sha256, manifest)}`, compiled);
        }
        if (compiled instanceof MicroCompileError) throw compiled;
        const gzip = compiled.gzip;
        microGzip = gzip;
        if (gzip > budgetBytes) {
          microSkipped = `its micro module is ${formatBytes(gzip)} gzip, over the ${formatBytes(budgetBytes)} budget of this function`;
        } else {
          // Micro fits: time it against onnxruntime-web, which decides where ORT is carried too.
          const requested = manifest.engine === 'micro' ? 'micro' : 'auto';
          const timingKey = `${label} ${manifest.sha256} ${requested}`;
          let timing = state.timings.get(timingKey);
          if (!timing) state.timings.set(timingKey, (timing = timeEngines(modelsRoot, name, version, compiled.source, requested === 'auto')));
          // A model whose warmup does not run here keeps the choice by size alone (reported).
          const times = await timing.catch((error: unknown) => {
            timingError = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
            return undefined;
          });
          if (times) {
            choice = { ...chooseEngine({ requested, carriesOrt: engines.includes('ort-web'), limitBytes: budgetBytes, times }), times };
            if (choice.engine === 'ort-web') microSkipped = choice.reason;
          }
        }
        if (!microSkipped) {
          const file = `micro-${index}.mjs`;
          await writeFile(join(dir, file), compiled.source);
          generated.push(file);
          // Imported when the model first loads: esbuild keeps it in the one file and evaluates
          // it (decoding its weights) on that call, not at the bundle's start.
          microEntries.push(`  ${JSON.stringify(microModuleKey(manifest.sha256, manifest))}: () => import('./${file}'),`);
          engine = 'micro';
        }
      } catch (error) {
        if (!(error instanceof MicroCompileError)) throw error;
        microSkipped = `the micro compiler cannot compile it (${error.message})`;
      }
    }
    if (!engine) {
      if (manifest.engine === 'micro') throw await refuse(label, `model.json asks for engine "micro", but ${microSkipped}`, { ...(microGzip === undefined ? {} : { microGzip }), graph: model.bytes });
      if (!engines.includes('ort-web') && target.ortElsewhere) {
        // Another function of this target carries ORT (Lambda@Edge: origin-request): it serves the model.
        plans.push({ model: label, engine: 'none', microSkipped: `${microSkipped}; left out of this function, served by the ${target.name} function that carries ONNX Runtime`, embedded: [], generated: [] });
        continue;
      }
      if (!engines.includes('ort-web')) throw await refuse(label, `${microSkipped}, and this function carries no ONNX Runtime`, { ...(microGzip === undefined ? {} : { microGzip }), graph: model.bytes });
      engine = 'ort-web';
      // Kept so a request for it names the reason (the ORT engine serves it).
      if (engines.includes('micro')) failures[microModuleKey(manifest.sha256, manifest)] = microSkipped!;
    }
    // One copy of each model: micro models embed their compiled module (bound to the .onnx's
    // sha256, verified above) and no graph bytes; ORT models embed the graph, checked at load.
    const embedded = [jsonPath, ...extra, ...(engine === 'ort-web' ? [graphPath] : [])];
    const lines: string[] = [];
    // As string literals made bytes on first read (embedded-source.ts): UTF-8 text as it is, the rest base64.
    for (const path of embedded) {
      const bytes = await source.read(path);
      const text = utf8Text(bytes);
      const literal = path === jsonPath && text !== undefined ? manifestLiteral(text, source.describe(path)) : undefined;
      if (path.endsWith('model.json') && literal === undefined) manifestsValidated = false;
      lines.push(
        `  ${JSON.stringify(path)}: ${
          text === undefined
            ? `embeddedBase64(${JSON.stringify(Buffer.from(bytes).toString('base64'))})`
            : literal !== undefined
              ? `embeddedManifest(${JSON.stringify(text)}, () => (${literal}))`
              : `embeddedText(${JSON.stringify(text)})`
        },`,
      );
    }
    if (engine === 'micro') lines.push(`  ${JSON.stringify(graphPath)}: verifiedAtBuild(${JSON.stringify(manifest.sha256)}),`);
    const modelFile = `model-${index}.generated.mjs`;
    await writeFile(
      join(dir, modelFile),
      `import { embeddedBase64, embeddedManifest, embeddedText, verifiedAtBuild } from ${JSON.stringify(join(REPO_ROOT, 'core/model/embedded-source.ts'))};\nexport default {\n${lines.join('\n')}\n};\n`,
    );
    generated.push(modelFile);
    modelImports.push(`import f${index} from './${modelFile}';`);
    plans.push({ model: label, engine, ...(microSkipped ? { microSkipped } : {}), ...(choice ? { choice } : {}), ...(choice && engine === 'micro' ? { microMs: choice.times.microMs } : {}), ...(timingError ? { timingError } : {}), embedded, generated });
    declared.push({ model: label, preprocessing: manifest.preprocessing });
  }
  await writeFile(
    join(dir, 'models.generated.mjs'),
    `${modelImports.join('\n')}\nexport const files = { ${modelImports.map((line) => `...${/import (f\d+)/.exec(line)![1]}`).join(', ')} };\n`,
  );
  await writeFile(
    join(dir, 'micro.generated.mjs'),
    `export const microModules = {\n${microEntries.join('\n')}\n};\nexport const microCompileFailures = ${JSON.stringify(failures)};\n`,
  );
  return { plans, preprocessors: preprocessorModulesFor(declared), manifestsValidated };
}

/** The file's text when it is valid UTF-8 that encodes back to the same bytes, else undefined. */
function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
  } catch {
    return undefined;
  }
}

// Groups the bundle's inputs: node_modules packages by name, generated modules, repository folders.
function composition(metafile: Metafile, work: string): BuiltFunction['composition'] {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const absolute = resolve(REPO_ROOT, input);
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
      const source = pkg
        ? pkg
        : absolute.startsWith(work)
          ? absolute.includes('micro-')
            ? 'micro modules (generated)'
            : 'embedded model files'
          : (relative(REPO_ROOT, absolute).split('/').slice(0, 2).join('/') || input);
      bytes.set(source, (bytes.get(source) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes].map(([source, n]) => ({ source, bytes: n })).sort((a, b) => b.bytes - a.bytes);
}

// Bytes of each generated file in the bundle (minified), by file name.
function generatedBytes(metafile: Metafile, work: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const absolute = resolve(REPO_ROOT, input);
      if (absolute.startsWith(work)) out.set(relative(work, absolute), bytesInOutput);
    }
  }
  return out;
}

/**
 * Builds one function: generated modules, bundle, sizes. Each model's micro module may fit the
 * budget alone and not beside the others: a function whose models another function of the
 * target also serves (Lambda@Edge viewer-request, origin-request carrying ORT) then leaves out
 * its largest micro model and builds again, until it fits or has none left to leave out.
 */
async function buildFunction(
  spec: FunctionSpec,
  options: TargetOptions,
  targetName: string,
  modelsRoot: string,
  ortElsewhere: boolean,
  timings: FunctionBuildState['timings'] = new Map(),
): Promise<BuiltFunction> {
  const state: FunctionBuildState = { leftOut: new Map(), compiled: new Map(), timings };
  for (;;) {
    const built = await buildFunctionOnce(spec, options, targetName, modelsRoot, ortElsewhere, state);
    const largest = built.models.filter((m) => m.engine === 'micro').sort((a, b) => b.gzipBytes - a.gzipBytes)[0];
    if (built.size.fits || !ortElsewhere || !largest) return built;
    const measured = built.size.measure === 'zip' ? (built.size.zipBytes ?? built.size.gzipBytes) : built.size.gzipBytes;
    state.leftOut.set(largest.model, `with it (${formatBytes(largest.gzipBytes)} gzip) beside the others this function is ${formatBytes(measured)} ${built.size.measure}, over its ${formatBytes(built.size.limitBytes)} budget`);
  }
}

/**
 * One line per model whose engine speed decided or argued against the choice: onnxruntime-web
 * chosen for speed, or micro kept although it measured slower (its numbers and why).
 */
export function engineReports(target: string, built: readonly BuiltFunction[]): string[] {
  const lines: string[] = [];
  for (const fn of built) {
    for (const plan of fn.models) {
      const choice = plan.choice;
      if (plan.timingError) lines.push(`engine: ${target}/${fn.spec.name} serves ${plan.model} on ${plan.engine} untimed: its warmup did not run here (${plan.timingError})`);
      if (!choice || (!choice.microSlower && choice.engine === 'micro')) continue;
      lines.push(`engine: ${target}/${fn.spec.name} serves ${plan.model} on ${choice.engine}${choice.engine === 'micro' ? ' although micro measured slower' : ''}: ${choice.reason}`);
    }
  }
  return lines;
}

/** Warnings for micro models slower than the function's CPU budget (timed on the build machine, so a warning, not a refusal). */
export function cpuWarnings(target: string, built: readonly BuiltFunction[]): string[] {
  const lines: string[] = [];
  for (const fn of built) {
    const budget = fn.spec.cpuBudgetMs;
    if (budget === undefined) continue;
    for (const plan of fn.models) {
      if (plan.microMs === undefined || plan.microMs <= budget) continue;
      lines.push(
        `warning: ${target}/${fn.spec.name} serves ${plan.model} on micro, whose inference takes ${plan.microMs.toFixed(0)} ms on this machine, over the ${budget} ms of CPU a request may use there: ` +
          'most requests for it will be cut off. Serve it where ONNX Runtime runs it (lambda-edge origin-request, "role": "regional"), or leave it out with --models',
      );
    }
  }
  return lines;
}

async function buildFunctionOnce(spec: FunctionSpec, options: TargetOptions, targetName: string, modelsRoot: string, ortElsewhere: boolean, state: FunctionBuildState): Promise<BuiltFunction> {
  const work = await mkdtemp(join(tmpdir(), `edgeinfer-${targetName}-`));
  try {
    const { tier: budgetTier } = tierOf(spec.budget, options.tier);
    const { plans, preprocessors, manifestsValidated } = await writeGenerated(work, spec, { name: targetName, ortElsewhere, tier: options.tier }, modelsRoot, budgetTier.limitBytes, state);
    const imports: EntryImports = {
      models: JSON.stringify(join(work, 'models.generated.mjs')),
      micro: JSON.stringify(join(work, 'micro.generated.mjs')),
      repo: (path) => JSON.stringify(join(REPO_ROOT, path)),
    };
    const result = await build({
      // The preprocessings the served models declare register themselves on import (before the entry runs).
      stdin: { contents: `${preprocessors.map((m) => `import ${imports.repo(m)};\n`).join('')}${spec.entry(imports)}`, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: `${spec.name}-entry.ts` },
      bundle: true,
      format: 'esm',
      platform: spec.platform ?? 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      write: false,
      logLevel: 'silent',
      external: ['node:*', ...(spec.external ?? [])],
      // DDSketch's protobuf serialisation is never used (sketches travel as JSON): see the stub.
      alias: { 'protobufjs/minimal': join(REPO_ROOT, 'build/stubs/protobufjs-minimal.cjs') },
      define: { __EDGEINFER_BAKED_ENV__: JSON.stringify(options.baked) },
      metafile: true,
      plugins: [sketchProtoStub, validatedFeatureViews, ...(manifestsValidated ? [noManifestValidator] : [])],
    });
    // The stub is only sound where every ModelSource is the embedded one: a bundle that reads model files cannot lose the validator.
    if (manifestsValidated && Object.keys(result.metafile!.inputs).some((input) => /adapters[\\/]node[\\/]fs-model-source\.ts$/.test(input))) {
      throw new Error(`${targetName} ${spec.name}: the bundle reads model files (fs-model-source) but was built without the model.json validator; give the function modelsFromFiles`);
    }
    const bundle = result.outputFiles[0]!.contents;
    const files: Record<string, Uint8Array> = { [spec.file]: bundle, ...(await spec.extraFiles?.()) };
    let rawBytes = 0;
    let gzipBytes = 0;
    for (const bytes of Object.values(files)) {
      rawBytes += bytes.length;
      gzipBytes += gzipSync(bytes, { level: 9 }).length;
    }
    const zip = spec.zip ? zipSync(Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, [bytes, { level: 9 }]])), { mtime: new Date('2026-01-01T00:00:00Z') }) : undefined;
    const { name: tierName, tier } = tierOf(spec.budget, options.tier);
    const size = checkSize(targetName, spec.name, { rawBytes, gzipBytes, ...(zip ? { zipBytes: zip.length } : {}) }, tierName, tier);
    const inBundle = generatedBytes(result.metafile!, work);
    const models: ModelPlan[] = [];
    for (const { generated, ...plan } of plans) {
      let bundleBytes = 0;
      let modelGzip = 0;
      for (const file of generated) {
        bundleBytes += inBundle.get(file) ?? 0;
        modelGzip += gzipSync(await readFile(join(work, file)), { level: 9 }).length;
      }
      models.push({ ...plan, bundleBytes, gzipBytes: modelGzip });
    }
    return { spec, files, size, ...(zip ? { zip } : {}), composition: composition(result.metafile!, work), models };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// DDSketch's generated protobuf code (~2.2 KB gzip), required lazily by toProto/fromProto
// only, which edgeinfer never calls: replaced by the same stub as protobufjs/minimal. And the
// package itself, imported by name, through a stub that evaluates it on first use.
const sketchProtoStub: Plugin = {
  name: 'sketches-proto-stub',
  setup(build) {
    build.onResolve({ filter: /\/proto\/compiled$/ }, (args) =>
      args.importer.includes('@datadog/sketches-js') ? { path: join(REPO_ROOT, 'build/stubs/protobufjs-minimal.cjs') } : undefined,
    );
    build.onResolve({ filter: /^@datadog\/sketches-js$/ }, () => ({ path: join(REPO_ROOT, 'build/stubs/sketches-js-lazy.cjs') }));
  },
};

/**
 * A function whose every model.json is embedded with the manifest the build validated
 * (embeddedManifest) never parses one: its bundle gets a stub for the validator (~16 KB
 * minified of the bundle's code, compiled by every fresh Node and Deno isolate).
 */
const noManifestValidator: Plugin = {
  name: 'no-manifest-validator',
  setup(build) {
    build.onResolve({ filter: /[\\/]parse-manifest\.ts$/ }, (args) =>
      /core[\\/]model[\\/]repository\.ts$/.test(args.importer) ? { path: join(REPO_ROOT, 'build/stubs/parse-manifest-unvalidated.ts') } : undefined,
    );
  },
};

/**
 * The bundled feature views, validated here: `features/embedded.ts` is replaced in the bundle by
 * a module holding each declaration's normalised view as an object literal (what
 * `featureViewFrom` gives for the same JSON, evaluated back and compared), so a function does not
 * validate them at start (~0.45 ms of a fresh Node). A declaration that does not validate fails
 * the build, naming the file; one whose view a literal does not reproduce leaves the module as it is.
 */
const validatedFeatureViews: Plugin = {
  name: 'validated-feature-views',
  setup(build) {
    const entry = join(REPO_ROOT, 'features/embedded.ts');
    build.onLoad({ filter: /[\\/]features[\\/]embedded\.ts$/ }, async (args) => {
      if (resolve(args.path) !== entry) return undefined;
      const literals = await featureViewLiterals();
      if (!literals) return undefined;
      const declarations = JSON.stringify(join(REPO_ROOT, 'core/features/declarations.ts'));
      return {
        loader: 'ts',
        resolveDir: join(REPO_ROOT, 'features'),
        contents:
          `import { createFeatureRepository } from ${declarations};\n` +
          `// Generated by build/pipeline.ts from features/*.json, validated at build (featureViewFrom).\n` +
          `export function embeddedFeatureRepository() {\n  return createFeatureRepository([\n${literals.map((l) => `    ${l},`).join('\n')}\n  ]);\n}\n`,
      };
    });
  },
};

/** Each bundled feature view as a literal equal to featureViewFrom's result; undefined when one is not reproduced. */
export async function featureViewLiterals(): Promise<string[] | undefined> {
  const { EMBEDDED_FEATURE_FILES } = await import('../features/embedded.ts');
  const { featureViewFrom } = await import('../core/features/declarations.ts');
  const literals: string[] = [];
  for (const [file, raw] of Object.entries(EMBEDDED_FEATURE_FILES)) {
    const view = featureViewFrom(raw, `features/${file}`);
    const literal = reproducingLiteral(view);
    if (literal === undefined) return undefined;
    literals.push(literal);
  }
  return literals;
}

/** Bundles and measures a target's functions without writing anything (bench:size). */
export async function bundleTargetFunctions(target: BuildTarget, options: TargetOptions, modelsRoot = options.modelsRoot ?? join(REPO_ROOT, 'models')): Promise<BuiltFunction[]> {
  const built: BuiltFunction[] = [];
  // The functions' model lists come from the repository being bundled, not the default one.
  const specs = target.functions({ ...options, modelsRoot });
  // A model is timed once per target, whichever of its functions embed it.
  const timings: FunctionBuildState['timings'] = new Map();
  for (const spec of specs) {
    const ortElsewhere = specs.some((other) => other !== spec && other.engines.includes('ort-web'));
    built.push(await buildFunction(spec, options, target.name, modelsRoot, ortElsewhere, timings));
  }
  return built;
}

/** Builds a target into `outDir`; throws SizeBudgetError when a function is over its tier. */
export async function buildTarget(
  target: BuildTarget,
  options: Partial<TargetOptions> & { outDir?: string; modelsRoot?: string; log?: (line: string) => void } = {},
): Promise<BuildResult> {
  const resolved: TargetOptions = {
    tier: options.tier ?? target.defaultTier,
    baked: options.baked ?? {},
    ...(options.engines ? { engines: options.engines } : {}),
    ...(options.models ? { models: options.models } : {}),
    ...(options.modelsRoot ? { modelsRoot: options.modelsRoot } : {}),
  };
  if (!target.tiers.includes(resolved.tier)) throw new Error(`--tier must be one of ${target.tiers.join(', ')} for ${target.name}, got "${resolved.tier}"`);
  const outDir = resolve(REPO_ROOT, options.outDir ?? target.defaultOut);
  const built = await bundleTargetFunctions(target, resolved, options.modelsRoot);
  const sizes = built.map((b) => b.size);
  options.log?.(formatSizeTable(sizes));
  options.log?.(formatModelShares(built.flatMap((b) => b.models.map((m) => ({ ...m, target: target.name, artifact: b.spec.name, limitBytes: b.size.limitBytes, measure: b.size.measure })))));
  for (const line of engineReports(target.name, built)) options.log?.(line);
  for (const line of cpuWarnings(target.name, built)) options.log?.(line);
  const over = built.find((b) => !b.size.fits);
  if (over) throw new SizeBudgetError(over.size, target.advice(over.spec, resolved.tier));
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const written = await target.write(outDir, built, resolved);
  return { target: target.name, outDir, sizes, written };
}

/** Reads KEY=VALUE lines (an env file) into a map; `#` comments and blank lines skipped. */
export async function readEnvFile(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile(path, 'utf8')).split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!match || line.trim().startsWith('#')) continue;
    out[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * The normalised manifest of a model.json text as a JS object literal, for the bundle to embed
 * beside the text (embeddedManifest): parsed and validated here, from the very text embedded,
 * so the edge skips both at its first request. Null-prototype records stay null-prototype
 * (`__proto__: null`; a key named "__proto__" is written computed, an own property). The
 * literal is evaluated here and compared with parseManifest's result (prototypes included);
 * undefined, so the bundle parses the text, when anything is not exactly reproduced.
 */
export function manifestLiteral(text: string, describe: string): string | undefined {
  return reproducingLiteral(parseManifest(text, describe));
}

/** `value` as a JS literal that evaluates back to an equal value (prototypes included), else undefined. */
function reproducingLiteral(value: unknown): string | undefined {
  const literal = jsLiteral(value);
  if (literal === undefined) return undefined;
  const back: unknown = new Function(`return (${literal});`)();
  return isDeepStrictEqual(back, value) ? literal : undefined;
}

function jsLiteral(value: unknown): string | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0) ? JSON.stringify(value) : undefined;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return undefined;
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return undefined;
      const item = jsLiteral(value[i]);
      if (item === undefined) return undefined;
      items.push(item);
    }
    return `[${items.join(',')}]`;
  }
  if (typeof value !== 'object') return undefined;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const entries: string[] = proto === null ? ['__proto__:null'] : [];
  for (const [key, item] of Object.entries(value)) {
    const literal = jsLiteral(item);
    if (literal === undefined) return undefined;
    entries.push(`${key === '__proto__' ? `[${JSON.stringify(key)}]` : JSON.stringify(key)}:${literal}`);
  }
  return `{${entries.join(',')}}`;
}
