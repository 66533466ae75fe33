// A bench's `--model name[@version]` flag: the version named, or without one the newest version
// in the repository (what the server serves), so a bench never pins a version that a newer
// one has replaced.
import { join } from 'node:path';
import { listVersions, parseModelRef } from '../build/model-tools/new-version.ts';
import { ModelToolError } from '../build/model-tools/tool-errors.ts';

/** A model version folder picked by {@link resolveModelRef}. */
export interface BenchModel {
  name: string;
  version: string;
  /** models/<name>/<version>/ under the root given. */
  dir: string;
}

/** Resolves `name` or `name@version` against `root`; exits the process with one line when it names nothing there. */
export async function resolveModelRef(text: string, root: string): Promise<BenchModel> {
  try {
    const ref = parseModelRef(text);
    const versions = await listVersions(root, ref.name);
    if (!versions.length) throw new ModelToolError(`no model "${ref.name}" under ${root} (run \`npm run models\` first)`);
    const version = ref.version ?? versions.at(-1)!;
    if (!versions.includes(version)) throw new ModelToolError(`${ref.name} has no version "${version}" under ${root} (versions: ${versions.join(', ')})`);
    return { name: ref.name, version, dir: join(root, ref.name, version) };
  } catch (error) {
    if (!(error instanceof ModelToolError)) throw error;
    console.error(`--model ${text}: ${error.message}`);
    process.exit(1);
  }
}
