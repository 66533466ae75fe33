// Reads the declared feature views of this folder (one JSON file a view) into a repository.
// Node only (the local server, the materializer, training); the request path receives the
// parsed repository and never touches the file system.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFeatureRepository, type FeatureRepository } from '../core/features/declarations.ts';

/** This folder: the project's feature repository. */
export const FEATURES_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Parses every `*.json` of `dir` (default: this folder); throws naming the file and field that is wrong. */
export function loadFeatureRepository(dir: string = FEATURES_DIR): FeatureRepository {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({ file: join(dir, name), json: readFileSync(join(dir, name), 'utf8') }));
  return parseFeatureRepository(files);
}
