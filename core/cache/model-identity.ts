// What a prediction key needs to know about a model it may not run itself (the regional
// model, seen from the edge): sha256, preprocessing version, TTL, read from its model.json.
import { parseManifest } from '../model/manifest.ts';
import type { ModelSource } from '../model/repository.ts';
import type { RegionalModelIdentity } from './cached-regional-tier.ts';

/**
 * Returns a memoized lookup of model identities from the repository's model.json files.
 * `latest` names the version served when a request names none. A model the repository
 * does not hold (e.g. an edge bundle without the regional model) yields undefined, and
 * its answers are then not cached.
 */
export function createModelIdentifier(
  source: ModelSource,
  latest: (name: string) => Promise<string | undefined>,
): (name: string, version?: string) => Promise<RegionalModelIdentity | undefined> {
  const known = new Map<string, Promise<RegionalModelIdentity | undefined>>();
  // The version served when none is named, per model name: `latest` is read once per name
  // (the catalog does not change while the service runs), so a request without a version
  // gets the memoized promise back with no lookup or wrapping of its own.
  const ofLatest = new Map<string, Promise<RegionalModelIdentity | undefined>>();
  const ofVersion = (name: string, version: string): Promise<RegionalModelIdentity | undefined> => {
    const id = `${name}@${version}`;
    let identity = known.get(id);
    if (!identity) {
      const path = `${name}/${version}/model.json`;
      // Settles once, never rejects (a missing or bad model.json is "not cached"), so every
      // later request reuses the same promise without wrapping it again.
      identity = source
        .read(path)
        .then((bytes) => {
          const manifest = parseManifest(new TextDecoder().decode(bytes), source.describe(path));
          return { sha256: manifest.sha256, preprocessingVersion: manifest.preprocessing?.version ?? 0, ttlSeconds: manifest.cache.ttlSeconds };
        })
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
