// What a prediction key needs to know about a model: its fingerprint (everything in
// model.json that changes what the model answers or how the answer is read), TTL, inputs and
// labels, read from its model.json, also for a model this isolate may not run itself (the
// regional model, seen from the edge).
import type { InputSpec, ModelManifest } from '../model/manifest.ts';
import { readManifest, type ModelSource } from '../model/repository.ts';
import { canonicalInput } from './keys.ts';
import { sha256HexSync } from './sha256.ts';

/** A model version as the cache sees it. */
export interface ModelIdentity {
  name: string;
  version: string;
  /** sha256 of the graph file. */
  sha256: string;
  /** {@link modelFingerprint}. */
  fingerprint: string;
  ttlSeconds: number;
  /** Declared input names, in order (what the input hash walks). */
  inputNames: readonly string[];
  /** The declared inputs (how a regional request's fields and features become its tensors); absent: every input is made from text. */
  inputs?: readonly InputSpec[];
  /** The first input made from text (where client ids go), if any. */
  firstTextInput?: string;
  /** Classification labels (empty for other kinds). */
  labels: readonly string[];
}

const fingerprints = new WeakMap<ModelManifest, string>();

/**
 * SHA-256 (hex) of what decides an answer and its reading: the graph's sha256, the name and
 * version (answers name them), every declared input (dtype, shape, source and its parameters:
 * constants, defaults, fields, views), the outputs and what they mean (kind, tensor, labels,
 * activation, names) and the preprocessing (id, version, params). Two versions on one .onnx
 * with other labels, another activation or other preprocessing params get other keys (#17
 * item 4); threshold, TTL, metrics and warmup do not change an answer and are left out.
 */
export function modelFingerprint(manifest: ModelManifest): string {
  let fingerprint = fingerprints.get(manifest);
  if (fingerprint === undefined) {
    fingerprint = sha256HexSync(
      canonicalInput({
        fingerprint: 1,
        name: manifest.name,
        version: manifest.version,
        sha256: manifest.sha256,
        inputs: manifest.inputs,
        outputs: manifest.outputs,
        output: manifest.output,
        preprocessing: manifest.preprocessing ?? null,
      }),
    );
    fingerprints.set(manifest, fingerprint);
  }
  return fingerprint;
}

/** The cache identity of a parsed model.json. */
export function modelIdentity(manifest: ModelManifest): ModelIdentity {
  const firstText = manifest.inputs.find((i) => i.source === 'text');
  return {
    name: manifest.name,
    version: manifest.version,
    sha256: manifest.sha256,
    fingerprint: modelFingerprint(manifest),
    ttlSeconds: manifest.cache.ttlSeconds,
    inputNames: manifest.inputs.map((i) => i.name),
    inputs: manifest.inputs,
    ...(firstText ? { firstTextInput: firstText.name } : {}),
    labels: manifest.labels,
  };
}

/**
 * Returns a memoized lookup of model identities from the repository's model.json files.
 * `latest` names the version served when a request names none. A model the repository
 * does not hold (e.g. an edge bundle without the regional model) yields undefined, and
 * its answers are then not cached.
 */
export function createModelIdentifier(
  source: ModelSource,
  latest: (name: string) => Promise<string | undefined>,
): (name: string, version?: string) => Promise<ModelIdentity | undefined> {
  const known = new Map<string, Promise<ModelIdentity | undefined>>();
  // The version served when none is named, per model name: `latest` is read once per name
  // (the catalog does not change while the service runs), so a request without a version
  // gets the memoized promise back with no lookup or wrapping of its own.
  const ofLatest = new Map<string, Promise<ModelIdentity | undefined>>();
  const ofVersion = (name: string, version: string): Promise<ModelIdentity | undefined> => {
    const id = `${name}@${version}`;
    let identity = known.get(id);
    if (!identity) {
      const path = `${name}/${version}/model.json`;
      // Settles once, never rejects (a missing or bad model.json is "not cached"), so every
      // later request reuses the same promise without wrapping it again.
      identity = readManifest(source, path)
        .then((manifest) => modelIdentity(manifest))
        .catch(() => undefined);
      known.set(id, identity);
    }
    return identity;
  };
  return (name, version) => {
    if (version !== undefined) return ofVersion(name, version);
    let identity = ofLatest.get(name);
    if (!identity) {
      identity = latest(name).then(
        (resolved) => (resolved === undefined ? undefined : ofVersion(name, resolved)),
        () => undefined,
      );
      ofLatest.set(name, identity);
    }
    return identity;
  };
}
