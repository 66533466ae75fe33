// Writes a derived model version: a tool (quantize, prune) that turns models/<name>/<v>/ into
// a new graph writes models/<name>/<next>/ with the source's model.json and side files
// copied, the new .onnx and its sha256, and a note in model.json of how it was produced
// (`training.derivations`, oldest first, so a chain of steps stays readable). The folder is
// written under a hidden temporary name and renamed into place, so a crash never leaves a
// half-written version for the server to load (FsModelSource skips dot-folders).
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_MODELS_ROOT } from '../../adapters/node/fs-model-source.ts';
import { normaliseManifest, type ModelManifest } from '../../core/model/manifest.ts';
import { compareVersions } from '../../core/model/repository.ts';
import { ModelToolError, validModelName } from './tool-errors.ts';

/** `name` or `name@version` as typed on a command line. */
export interface ModelRef {
  name: string;
  version?: string;
}

/** One model version as read from the repository: raw model.json (copied as is), normalised form and graph bytes. */
export interface ModelVersion {
  root: string;
  dir: string;
  name: string;
  version: string;
  /** model.json as written (unknown fields of later formats survive the copy). */
  raw: Record<string, unknown>;
  manifest: ModelManifest;
  onnx: Uint8Array;
}

/** How a derived version was produced: the note written into its model.json. */
export interface Derivation {
  /** The tool, e.g. "quantize". */
  tool: string;
  /** The options that matter to reproduce it (flags as given, defaults filled in). */
  options: Record<string, unknown>;
  /** One human line, e.g. "int8 weights (per-channel, symmetric) as QDQ". */
  summary: string;
}

export interface NewVersionOptions {
  source: ModelVersion;
  onnx: Uint8Array;
  derivation: Derivation;
  /** Measurements to store under metrics[derivation.tool] (sizes, agreement). */
  metrics?: Record<string, unknown>;
  /** Version folder to write (default: one above the highest numeric version). */
  version?: string;
  /** Replace an existing folder of that version. */
  force?: boolean;
  /** Clock for the note (tests pin it). */
  now?: () => Date;
}

export interface WrittenVersion {
  dir: string;
  version: string;
  sha256: string;
  manifest: Record<string, unknown>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** True when the path exists (file or folder). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Parses `name[@version]`; throws a one-line ModelToolError on a bad name. */
export function parseModelRef(text: string): ModelRef {
  const at = text.lastIndexOf('@');
  const name = at > 0 ? text.slice(0, at) : text;
  const version = at > 0 ? text.slice(at + 1) : undefined;
  if (!validModelName(name)) throw new ModelToolError(`model name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got ${JSON.stringify(name)}`);
  if (version !== undefined && !validModelName(version)) throw new ModelToolError(`version must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} (e.g. ${name}@1), got ${JSON.stringify(version)}`);
  return version === undefined ? { name } : { name, version };
}

/** Version folders of a model that hold a model.json, in version order. */
export async function listVersions(root: string, name: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = (await readdir(join(root, name), { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch {
    return [];
  }
  const versions: string[] = [];
  for (const v of entries) if (validModelName(v) && (await exists(join(root, name, v, 'model.json')))) versions.push(v);
  return versions.sort(compareVersions);
}

/** One above the highest numeric version folder ("1" for a new model). */
export async function nextVersion(root: string, name: string): Promise<string> {
  let entries: string[];
  try {
    entries = (await readdir(join(root, name), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return '1';
  }
  const numeric = entries.filter((v) => /^\d+$/.test(v)).map(Number);
  return String(numeric.length ? Math.max(...numeric) + 1 : 1);
}

/** Reads `ref` (latest version when none is given) from `root`, checking model.json and the sha256 of its graph. */
export async function readModelVersion(ref: ModelRef, root: string = DEFAULT_MODELS_ROOT): Promise<ModelVersion> {
  const absRoot = resolve(root);
  const versions = await listVersions(absRoot, ref.name);
  if (!versions.length) throw new ModelToolError(`no model "${ref.name}" in ${absRoot} (no ${ref.name}/<version>/model.json)`);
  const version = ref.version ?? versions.at(-1)!;
  if (!versions.includes(version)) throw new ModelToolError(`${ref.name} has no version "${version}" (versions: ${versions.join(', ')})`);
  const dir = join(absRoot, ref.name, version);
  let raw: Record<string, unknown>;
  let manifest: ModelManifest;
  try {
    raw = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    manifest = normaliseManifest(raw, `${ref.name}/${version}/model.json`);
  } catch (error) {
    throw new ModelToolError(`${ref.name}@${version}: model.json does not load: ${(error as Error).message}`);
  }
  let onnx: Uint8Array;
  try {
    onnx = new Uint8Array(await readFile(join(dir, manifest.file)));
  } catch (error) {
    throw new ModelToolError(`${ref.name}@${version}: cannot read ${manifest.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (sha256(onnx) !== manifest.sha256) throw new ModelToolError(`${ref.name}@${version}: ${manifest.file} does not match the sha256 in model.json (edited by hand? re-add it with model:add)`);
  return { root: absRoot, dir, name: ref.name, version, raw, manifest, onnx };
}

/** Writes models/<name>/<next>/ from `source` with the new graph; returns where and what. */
export async function writeNewVersion(options: NewVersionOptions): Promise<WrittenVersion> {
  const { source } = options;
  const version = options.version ?? (await nextVersion(source.root, source.name));
  if (!validModelName(version)) throw new ModelToolError(`version must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got ${JSON.stringify(version)}`);
  if (version === source.version) throw new ModelToolError(`version ${version} is the source version; a derived model needs a new one`);
  const dir = join(source.root, source.name, version);
  if ((await exists(dir)) && !options.force) throw new ModelToolError(`${dir} exists already; pass --version to choose another or --force to replace it`);

  const digest = sha256(options.onnx);
  const raw = source.raw;
  const training = raw.training && typeof raw.training === 'object' ? { ...(raw.training as Record<string, unknown>) } : {};
  const earlier = Array.isArray(training.derivations) ? (training.derivations as unknown[]) : [];
  training.derivations = [
    ...earlier,
    {
      tool: options.derivation.tool,
      from: `${source.name}@${source.version}`,
      fromSha256: source.manifest.sha256,
      summary: options.derivation.summary,
      options: options.derivation.options,
      at: (options.now ?? (() => new Date()))().toISOString(),
      // Copied metrics other than this tool's were measured on the source graph.
      note: `other metrics were measured on ${source.name}@${source.version}`,
    },
  ];
  const metrics = raw.metrics && typeof raw.metrics === 'object' ? { ...(raw.metrics as Record<string, unknown>) } : {};
  if (options.metrics) metrics[options.derivation.tool] = options.metrics;
  const manifest: Record<string, unknown> = {
    ...raw,
    version,
    sha256: digest,
    description: `${options.derivation.summary}, from ${source.name}@${source.version}${typeof raw.description === 'string' && raw.description ? ` (${raw.description})` : ''}`,
    ...(Object.keys(metrics).length ? { metrics } : {}),
    training,
  };
  // The copy must still be a model.json the server loads.
  try {
    normaliseManifest(manifest, `${source.name}/${version}/model.json`);
  } catch (error) {
    throw new ModelToolError(`the derived model.json would not load: ${(error as Error).message}`);
  }

  const staging = join(source.root, source.name, `.${version}.tmp-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    // Side files (tokenizer.json, ...) travel with the version; the graph and model.json are new.
    for (const entry of await readdir(source.dir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name === 'model.json' || entry.name === source.manifest.file) continue;
      await copyFile(join(source.dir, entry.name), join(staging, entry.name));
    }
    await writeFile(join(staging, source.manifest.file), options.onnx);
    await writeFile(join(staging, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    if (options.force) await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { dir, version, sha256: digest, manifest };
}
