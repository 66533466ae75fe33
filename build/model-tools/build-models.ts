// Which models a build embeds, from the repository itself: edge builds take every model whose
// model.json says role "edge" or "any" (the default), the regional build every "regional" or
// "any" one; `--models a,b` chooses instead. No model name is written into a build target.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from '../../core/model/manifest.ts';
import { compareVersions } from '../../core/model/repository.ts';
import { REPO_ROOT } from '../pipeline.ts';

/** The part of the build options this module reads. */
export interface ModelChoice {
  /** Models named with --models (their latest versions). */
  models?: readonly string[];
  /** Model repository (default: the repository's models/). */
  modelsRoot?: string;
}

/** A model of the repository: its latest version and declared role. */
export interface RepositoryModel {
  name: string;
  version: string;
  role: 'edge' | 'regional' | 'any';
  /** It has an input made from text (what a regional request and the regional warm event carry). */
  readsText: boolean;
}

const NOT_MODELS = new Set(['training', 'node_modules']);

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Every model of `root` with its latest version's role (synchronous: targets list functions synchronously). */
export function repositoryModels(root: string): RepositoryModel[] {
  const out: RepositoryModel[] = [];
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.') && !NOT_MODELS.has(e.name)).map((e) => e.name).sort();
  } catch (error) {
    throw new Error(`cannot read the model repository ${root}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  for (const name of names) {
    const versions = readdirSync(join(root, name), { withFileTypes: true })
      .filter((e) => e.isDirectory() && isFile(join(root, name, e.name, 'model.json')))
      .map((e) => e.name)
      .sort(compareVersions);
    const version = versions.at(-1);
    if (version === undefined) continue;
    const path = join(root, name, version, 'model.json');
    const json = readFileSync(path, 'utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      raw = undefined;
    }
    // Not JSON, or not an object: parseManifest throws the one-line ManifestError naming the file.
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) parseManifest(json, path);
    const role = (raw as { role?: unknown }).role ?? 'any';
    let readsText = false;
    try {
      readsText = parseManifest(json, path).inputs.some((i) => i.source === 'text');
    } catch {
      // An invalid model.json is refused where the build loads it, with its own message.
    }
    if (role !== 'edge' && role !== 'regional' && role !== 'any') throw new Error(`${path}: "role" must be "edge", "regional" or "any", got ${JSON.stringify(role)}`);
    out.push({ name, version, role, readsText });
  }
  return out;
}

/**
 * The models a function of `kind` embeds: the --models list (each must exist), else every
 * model of that role or "any". Throws naming the fix when the choice is empty or unknown.
 */
export function modelsForBuild(options: ModelChoice, kind: 'edge' | 'regional'): string[] {
  const root = options.modelsRoot ?? join(REPO_ROOT, 'models');
  const all = repositoryModels(root);
  if (options.models?.length) {
    const missing = options.models.filter((name) => !all.some((m) => m.name === name));
    if (missing.length) {
      throw new Error(`--models names ${missing.map((m) => `"${m}"`).join(', ')}, not in ${root} (models there: ${all.map((m) => m.name).join(', ') || 'none'})`);
    }
    return [...new Set(options.models)];
  }
  const chosen = all.filter((m) => m.role === kind || m.role === 'any').map((m) => m.name);
  if (!chosen.length) {
    throw new Error(
      `no model in ${root} has role "${kind}" or "any" (${all.map((m) => `${m.name}: ${m.role}`).join(', ') || 'the repository is empty'}); ` +
        `add one with \`npm run model:add\`, set "role" in its model.json, or name models with --models`,
    );
  }
  return chosen;
}
