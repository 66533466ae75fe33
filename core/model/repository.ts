// The model repository: models/<name>/<version>/{model.json, model.onnx}. Where the files
// come from is the adapter's business (the file system locally, bytes embedded by the
// bundler at the edge); this module reads them through a ModelSource, verifies the
// SHA-256 and refuses anything it cannot serve with an error naming the file.
import type { ModelManifest } from './manifest.ts';
import { parseManifest } from './parse-manifest.ts';
import { isValidModelName, isValidModelVersion } from './names.ts';

/** Read access to a model repository. Paths are relative to the repository root. */
export interface ModelSource {
  /** Model names and their versions present in the repository. */
  list(): Promise<Array<{ name: string; versions: string[] }>>;
  /** File contents; rejects when the file cannot be read. */
  read(path: string): Promise<Uint8Array>;
  /** Human-readable location of `path` for error messages (e.g. an absolute file path). */
  describe(path: string): string;
  /**
   * The sha256 a build verified this file against when it left the bytes out (an edge
   * bundle that carries the model as a micro module bound to that sha256); undefined when
   * the bytes are here to be read and hashed.
   */
  verifiedDigest?(path: string): string | undefined;
  /**
   * The normalised manifest of a model.json the build parsed and validated (embedded with its
   * text); undefined where the text is to be read and parsed here (files, repository loads).
   */
  verifiedManifest?(path: string): ModelManifest | undefined;
}

/**
 * The manifest at `path` (a model.json): the build's validated one where the source has it,
 * else read and parsed. Rejects with the read error or a ManifestError.
 */
export async function readManifest(source: ModelSource, path: string): Promise<ModelManifest> {
  const verified = source.verifiedManifest?.(path);
  if (verified) return verified;
  return parseManifest(new TextDecoder().decode(await source.read(path)), source.describe(path));
}

/** A verified model version: its manifest and the exact bytes whose hash it declares. */
export interface VerifiedModel {
  manifest: ModelManifest;
  bytes: Uint8Array;
}

/** Raised when a model cannot be served; `file` names what was wrong. */
export class ModelLoadError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ModelLoadError';
  }
}

/** Hex SHA-256 of bytes (web crypto, so it runs in every runtime). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Orders version folder names numerically when they are numbers ("2" < "10"). */
export function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads, parses and verifies one model version. */
export async function loadVerifiedModel(source: ModelSource, name: string, version: string): Promise<VerifiedModel> {
  // Folder names become cache keys, metric series and strings in generated code.
  if (!isValidModelName(name) || !isValidModelVersion(version)) {
    throw new ModelLoadError(
      source.describe(`${JSON.stringify(name).slice(1, -1).slice(0, 80)}/${JSON.stringify(version).slice(1, -1).slice(0, 40)}`),
      'model and version folder names must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}; rename the folder',
    );
  }
  const manifestPath = `${name}/${version}/model.json`;
  let manifest: ModelManifest | undefined = source.verifiedManifest?.(manifestPath);
  if (!manifest) {
    let manifestBytes: Uint8Array;
    try {
      manifestBytes = await source.read(manifestPath);
    } catch (error) {
      throw new ModelLoadError(source.describe(manifestPath), `cannot read model.json (${(error as Error).message})`);
    }
    try {
      manifest = parseManifest(new TextDecoder().decode(manifestBytes), source.describe(manifestPath));
    } catch (error) {
      throw new ModelLoadError(source.describe(manifestPath), (error as Error).message.replace(`${source.describe(manifestPath)}: `, ''));
    }
  }
  if (manifest.name !== name || manifest.version !== version) {
    throw new ModelLoadError(
      source.describe(manifestPath),
      `declares ${manifest.name}@${manifest.version} but sits in folder ${name}/${version}`,
    );
  }
  const modelPath = `${name}/${version}/${manifest.file}`;
  const verified = source.verifiedDigest?.(modelPath);
  if (verified !== undefined) {
    if (verified !== manifest.sha256) {
      throw new ModelLoadError(source.describe(modelPath), `sha256 mismatch: model.json declares ${manifest.sha256} but the build verified ${verified}; rebuild`);
    }
    // No bytes: engines find the compiled module by manifest.sha256 (micro) or refuse.
    return { manifest, bytes: new Uint8Array(0) };
  }
  let bytes: Uint8Array;
  try {
    bytes = await source.read(modelPath);
  } catch (error) {
    throw new ModelLoadError(source.describe(modelPath), `cannot read the model file (${(error as Error).message})`);
  }
  const actual = await sha256Hex(bytes);
  if (actual !== manifest.sha256) {
    throw new ModelLoadError(
      source.describe(modelPath),
      `sha256 mismatch: model.json declares ${manifest.sha256} but the file hashes to ${actual}; ` +
        'the file is corrupt or was replaced without updating model.json (rerun `npm run models` or fix the sha256)',
    );
  }
  return { manifest, bytes };
}

/** The newest version of each model (Triton's "latest" policy). */
export async function latestVersions(source: ModelSource): Promise<Array<{ name: string; version: string }>> {
  const listing = await source.list();
  return listing
    .filter((m) => m.versions.length > 0)
    .map((m) => ({ name: m.name, version: [...m.versions].sort(compareVersions).at(-1) as string }));
}
