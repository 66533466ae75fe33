// Node-only ModelSource over a directory laid out as models/<name>/<version>/model.json
// (+ the .onnx it names): what the local server, the regional Lambda and tests read
// models through. Verification (sha256) stays in core/model/repository.ts.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareVersions, type ModelSource } from '../../core/model/repository.ts';

/** The repository's own models/ folder. */
export const DEFAULT_MODELS_ROOT = fileURLToPath(new URL('../../models/', import.meta.url));

/** Folders under the root that hold code or data, not models. */
const NOT_MODELS = new Set(['training', 'node_modules']);

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function subdirectories(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** A ModelSource over `root` (default: the repository's models/ folder). */
export class FsModelSource implements ModelSource {
  /** Absolute path of the repository root directory. */
  readonly root: string;

  constructor(root: string = DEFAULT_MODELS_ROOT) {
    this.root = resolve(root);
  }

  /** Every `<name>/<version>` folder holding a model.json (versions in numeric order); `training/` and other folders are skipped. */
  async list(): Promise<Array<{ name: string; versions: string[] }>> {
    const listing: Array<{ name: string; versions: string[] }> = [];
    for (const name of await subdirectories(this.root)) {
      if (NOT_MODELS.has(name)) continue;
      const versions: string[] = [];
      for (const version of await subdirectories(join(this.root, name))) {
        if (await isFile(join(this.root, name, version, 'model.json'))) versions.push(version);
      }
      if (versions.length > 0) listing.push({ name, versions: versions.sort(compareVersions) });
    }
    return listing;
  }

  /**
   * Bytes of a file under the root; refuses paths that would leave it, by name or through a
   * symlink (the real path of the file must lie under the real path of the root: a model.onnx
   * linked to /etc/shadow or to another tenant's folder is refused, #17 item 14).
   */
  async read(path: string): Promise<Uint8Array> {
    const absolute = this.#resolveInside(path);
    const [real, realRoot] = await Promise.all([realpath(absolute), (this.#realRoot ??= realpath(this.root))]);
    if (!isInside(realRoot, real)) throw new Error(`path "${path}" resolves (through a symlink) outside the model repository`);
    // A plain Uint8Array over the Buffer's own memory, not a copy: copying an 8 MB model with
    // new Uint8Array(buffer) took 42 ms of the regional function's first invoke. Small reads
    // may sit in Node's shared Buffer pool: those are copied, so no caller sees the pool.
    const bytes = await readFile(real);
    return bytes.byteLength === bytes.buffer.byteLength ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  }

  #realRoot: Promise<string> | undefined;

  /** The absolute file path, for error messages. */
  describe(path: string): string {
    return resolve(this.root, path);
  }

  #resolveInside(path: string): string {
    const absolute = resolve(this.root, path);
    if (isAbsolute(path) || !isInside(this.root, absolute)) throw new Error(`path "${path}" is outside the model repository`);
    return absolute;
  }
}

/** True when `path` lies strictly under `root` (both absolute). */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return !(rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel));
}
