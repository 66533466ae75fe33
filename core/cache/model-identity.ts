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
  return async (name, version) => {
    const resolved = version ?? (await latest(name).catch(() => undefined));
    if (resolved === undefined) return undefined;
    const id = `${name}@${resolved}`;
    let identity = known.get(id);
    if (!identity) {
      const path = `${name}/${resolved}/model.json`;
      // Settles once, never rejects (a missing or bad model.json is "not cached"), so every
      // later request reuses the same promise without wrapping it again.
      identity = source
        .read(path)
        .then((bytes) => {
          const manifest = parseManifest(new TextDecoder().decode(bytes), source.describe(path));
          return { sha256: manifest.sha256, preprocessingVersion: manifest.preprocessing.version, ttlSeconds: manifest.cache.ttlSeconds };
        })
        .catch(() => undefined);
      known.set(id, identity);
    }
    return identity;
  };
}
