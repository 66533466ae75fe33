// Picks the engine for a model from its manifest's `engine` choice and what this build
// registered: `ort` → the ONNX Runtime engines in the target's preference order,
// `micro` → the micro engine only, `auto` → micro first, then ORT. A skipped engine's
// reason is kept so /v2 metadata can say why it was not used.
import type { ModelManifest } from '../model/manifest.ts';
import type { EngineRegistry } from './registry.ts';
import type { Engine, EngineName, EngineSession } from './types.ts';

/** A session plus the engine that made it and why others were passed over. */
export interface SelectedSession {
  engine: EngineName;
  session: EngineSession;
  skipped: Array<{ engine: EngineName; reason: string }>;
}

/** Engines to try, in order, for a manifest's choice. */
export function enginePreference(manifest: ModelManifest, ortPreference: readonly EngineName[]): EngineName[] {
  switch (manifest.engine) {
    case 'micro':
      return ['micro'];
    case 'ort':
      return [...ortPreference];
    case 'auto':
      return ['micro', ...ortPreference.filter((name) => name !== 'micro')];
  }
}

/** Loads the model on the first engine in preference order that initialises and accepts it. */
export async function loadOnPreferredEngine(
  manifest: ModelManifest,
  bytes: Uint8Array,
  registry: EngineRegistry,
  ortPreference: readonly EngineName[],
): Promise<SelectedSession> {
  const skipped: SelectedSession['skipped'] = [];
  for (const name of enginePreference(manifest, ortPreference)) {
    if (!registry.names().includes(name)) {
      skipped.push({ engine: name, reason: 'not part of this build' });
      continue;
    }
    let engine: Engine;
    try {
      engine = await registry.get(name);
      const session = await engine.load(bytes, manifest);
      return { engine: name, session, skipped };
    } catch (error) {
      skipped.push({ engine: name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  // Nothing to try (model.json asks for ORT in a build that carries none): say so, never "()".
  const why = skipped.length
    ? skipped.map((s) => `${s.engine}: ${s.reason}`).join('; ')
    : `model.json asks for engine "${manifest.engine}" and this build carries ${registry.names().join(', ') || 'no engine'}; set "engine": "auto" or serve it from a build with ONNX Runtime`;
  throw new Error(`${manifest.name}@${manifest.version}: no engine could load it (${why})`);
}
