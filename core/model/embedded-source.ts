// A ModelSource over files embedded in the bundle (edge targets have no file system): a map
// of repository-relative path → bytes, which the build pipeline generates from models/.
import { compareVersions, type ModelSource } from './repository.ts';

/** Repository files by path relative to the root, e.g. "spam-edge/1/model.onnx". */
export type EmbeddedFiles = Readonly<Record<string, Uint8Array>>;

/** Decodes base64 text to bytes (atob: web-standard, no Buffer). */
export function bytesFromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A read-only model repository held in memory. */
export class EmbeddedModelSource implements ModelSource {
  readonly #files: Map<string, Uint8Array>;

  constructor(files: EmbeddedFiles) {
    this.#files = new Map(Object.entries(files));
  }

  async list(): Promise<Array<{ name: string; versions: string[] }>> {
    const versions = new Map<string, Set<string>>();
    for (const path of this.#files.keys()) {
      const [name, version, file] = path.split('/');
      if (!name || !version || file !== 'model.json') continue;
      const set = versions.get(name) ?? new Set<string>();
      set.add(version);
      versions.set(name, set);
    }
    return [...versions]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, set]) => ({ name, versions: [...set].sort(compareVersions) }));
  }

  async read(path: string): Promise<Uint8Array> {
    const bytes = this.#files.get(path);
    if (!bytes) throw new Error(`not embedded in this build (embedded: ${[...this.#files.keys()].join(', ') || 'none'})`);
    return bytes;
  }

  describe(path: string): string {
    return `embedded:${path}`;
  }
}
