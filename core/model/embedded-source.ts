// A ModelSource over files embedded in the bundle (edge targets have no file system): a map
// of repository-relative path → bytes, which the build pipeline generates from models/.
// A graph that the build compiled to a micro module is not embedded at all: its entry is a
// marker holding the sha256 the build verified the .onnx against, and the micro module
// (bound to that sha256) is the one copy of the model. So a micro-only bundle neither
// decodes nor hashes graph bytes at cold start; graphs ORT loads are embedded and hashed.
import type { ModelManifest } from './manifest.ts';
import { compareVersions, type ModelSource } from './repository.ts';

/** A file verified at build time and left out of the bundle (its sha256, hex). */
export interface VerifiedAtBuild {
  readonly verifiedSha256: string;
}

/**
 * A file embedded as a string literal, made bytes when first read: UTF-8 text (model.json) or
 * base64 (graphs ORT loads). Nothing is decoded while the bundle starts, and a version no
 * request loads is never decoded.
 */
export type EncodedFile = { readonly text: string } | { readonly base64: string } | ManifestFile;

/**
 * A model.json the build parsed and validated: its text (what read() gives) and its normalised
 * manifest as a function returning an object literal, generated from the same text. The
 * function costs a pre-parse at start; a call builds a fresh object, so the first request
 * neither decodes, parses nor validates the embedded model.json.
 */
export interface ManifestFile {
  readonly text: string;
  readonly manifest: () => ModelManifest;
}

/** Repository files by path relative to the root, e.g. "spam-edge/1/model.json". */
export type EmbeddedFiles = Readonly<Record<string, Uint8Array | VerifiedAtBuild | EncodedFile>>;

/** Marks a file as verified at build and not embedded (the pipeline's generated modules call it). */
export function verifiedAtBuild(sha256: string): VerifiedAtBuild {
  return { verifiedSha256: sha256 };
}

/** A UTF-8 text file, embedded as its text (the pipeline's generated modules call it). */
export function embeddedText(text: string): EncodedFile {
  return { text };
}

/** A model.json validated by the build, embedded with its normalised manifest (the pipeline's generated modules call it). */
export function embeddedManifest(text: string, manifest: () => ModelManifest): ManifestFile {
  return { text, manifest };
}

/** A binary file, embedded as base64 (the pipeline's generated modules call it). */
export function embeddedBase64(base64: string): EncodedFile {
  return { base64 };
}

// Copies one chunk of atob's output. A small function of its own: V8 optimises it after a few
// calls, where one long loop in the caller stays interpreted through a cold start.
function copyChars(binary: string, bytes: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) bytes[i] = binary.charCodeAt(i);
}

/**
 * Decodes base64 text to bytes (web-standard, no Buffer): Uint8Array.fromBase64 where the
 * runtime has it (native), else atob copied in chunks. Runs on the first read of an embedded
 * graph that ORT loads and for each CloudFront request body.
 */
export function bytesFromBase64(text: string): Uint8Array {
  const typed = Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array };
  if (typeof typed.fromBase64 === 'function') return typed.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 4096) copyChars(binary, bytes, i, Math.min(binary.length, i + 4096));
  return bytes;
}

/** A read-only model repository held in memory. */
export class EmbeddedModelSource implements ModelSource {
  readonly #files: Map<string, Uint8Array | VerifiedAtBuild | EncodedFile>;
  readonly #manifests = new Map<string, () => ModelManifest>();

  constructor(files: EmbeddedFiles) {
    this.#files = new Map(Object.entries(files));
    for (const [path, entry] of this.#files) if (!(entry instanceof Uint8Array) && 'manifest' in entry) this.#manifests.set(path, entry.manifest);
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
    const entry = this.#files.get(path);
    if (!entry) throw new Error(`not embedded in this build (embedded: ${[...this.#files.keys()].join(', ') || 'none'})`);
    if (entry instanceof Uint8Array) return entry;
    if ('verifiedSha256' in entry) {
      throw new Error('not embedded in this build: it was verified and compiled to a micro module at build time, so only the micro engine serves it here');
    }
    // Decoded once, on the first read.
    const bytes = 'text' in entry ? new TextEncoder().encode(entry.text) : bytesFromBase64(entry.base64);
    this.#files.set(path, bytes);
    return bytes;
  }

  verifiedManifest(path: string): ModelManifest | undefined {
    const entry = this.#manifests.get(path);
    return entry?.();
  }

  verifiedDigest(path: string): string | undefined {
    const entry = this.#files.get(path);
    return entry && !(entry instanceof Uint8Array) && 'verifiedSha256' in entry ? entry.verifiedSha256 : undefined;
  }

  describe(path: string): string {
    return `embedded:${path}`;
  }
}
