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
import { build, type Metafile } from 'esbuild';
import { zipSync } from 'fflate';
import { FsModelSource } from '../adapters/node/fs-model-source.ts';
import { loadVerifiedModel, latestVersions } from '../core/model/repository.ts';
import { compileOnnxToModule } from './micro/compile.ts';
import { MicroCompileError } from './micro/errors.ts';
import { checkSize, formatSizeTable, SIZE_LIMITS, SizeBudgetError, type ArtifactSize, type SizeTier } from './size-budget.ts';

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

async function writeGenerated(dir: string, modelNames: readonly string[], engines: FunctionSpec['engines'], modelsRoot: string): Promise<void> {
  const source = new FsModelSource(modelsRoot);
  const latest = new Map((await latestVersions(source)).map((m) => [m.name, m.version]));
  const fileLines: string[] = [];
  const microImports: string[] = [];
  const microEntries: string[] = [];
  const failures: Record<string, string> = {};
  for (const name of modelNames) {
    const version = latest.get(name);
    if (!version) throw new Error(`model "${name}" is not in ${modelsRoot} (run \`npm run models\`)`);
    const model = await loadVerifiedModel(source, name, version);
    const jsonPath = `${name}/${version}/model.json`;
    fileLines.push(`  ${JSON.stringify(jsonPath)}: bytesFromBase64(${JSON.stringify(Buffer.from(await source.read(jsonPath)).toString('base64'))}),`);
    fileLines.push(`  ${JSON.stringify(`${name}/${version}/${model.manifest.file}`)}: bytesFromBase64(${JSON.stringify(Buffer.from(model.bytes).toString('base64'))}),`);
    if (!engines.includes('micro') || model.manifest.engine === 'ort') continue;
    try {
      const compiled = compileOnnxToModule(model.bytes, { name: `${name}@${version}` });
      const file = `micro-${microEntries.length}.mjs`;
      await writeFile(join(dir, file), compiled.source);
      microImports.push(`import * as m${microEntries.length} from './${file}';`);
      microEntries.push(`  ${JSON.stringify(model.manifest.sha256)}: m${microEntries.length},`);
    } catch (error) {
      if (!(error instanceof MicroCompileError)) throw error;
      if (!engines.includes('ort-web')) throw new Error(`${name}@${version} does not compile to a micro module and this function carries no ORT: ${error.message}`);
      failures[model.manifest.sha256] = error.message;
    }
  }
  await writeFile(
    join(dir, 'models.generated.mjs'),
    `import { bytesFromBase64 } from ${JSON.stringify(join(REPO_ROOT, 'core/model/embedded-source.ts'))};\nexport const files = {\n${fileLines.join('\n')}\n};\n`,
  );
  await writeFile(
    join(dir, 'micro.generated.mjs'),
    `${microImports.join('\n')}\nexport const microModules = {\n${microEntries.join('\n')}\n};\nexport const microCompileFailures = ${JSON.stringify(failures)};\n`,
  );
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

/** Builds one function: generated modules, bundle, sizes. */
async function buildFunction(spec: FunctionSpec, options: TargetOptions, targetName: string, modelsRoot: string): Promise<BuiltFunction> {
  const work = await mkdtemp(join(tmpdir(), `edgeinfer-${targetName}-`));
  try {
    await writeGenerated(work, spec.models, spec.engines, modelsRoot);
    const imports: EntryImports = {
      models: JSON.stringify(join(work, 'models.generated.mjs')),
      micro: JSON.stringify(join(work, 'micro.generated.mjs')),
      repo: (path) => JSON.stringify(join(REPO_ROOT, path)),
    };
    const result = await build({
      stdin: { contents: spec.entry(imports), resolveDir: REPO_ROOT, loader: 'ts', sourcefile: `${spec.name}-entry.ts` },
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
    });
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
    return { spec, files, size, ...(zip ? { zip } : {}), composition: composition(result.metafile!, work) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Bundles and measures a target's functions without writing anything (bench:size). */
export async function bundleTargetFunctions(target: BuildTarget, options: TargetOptions, modelsRoot = join(REPO_ROOT, 'models')): Promise<BuiltFunction[]> {
  const built: BuiltFunction[] = [];
  for (const spec of target.functions(options)) built.push(await buildFunction(spec, options, target.name, modelsRoot));
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
