// The newest version of a repository model, read from its folders: the one a build embeds and
// the server serves, so a test never pins a version a newer one has replaced.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions } from '../../core/model/repository.ts';

/** The repository's own models/ folder. */
export const REPO_MODELS_ROOT = join(import.meta.dirname, '../../models');

/** The newest version folder of `name` under `root` (the server's "latest" order). */
export function latestVersion(name: string, root = REPO_MODELS_ROOT): string {
  const versions = readdirSync(join(root, name), { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  const latest = versions.sort(compareVersions).at(-1);
  if (latest === undefined) throw new Error(`no version of ${name} under ${root}`);
  return latest;
}
