// Holds every served model version and its state. Models load once per isolate, lazily on
// first use or eagerly via `loadAll` (warmers, the local server). A model that fails to
// load is kept with its error so requests get a clear 503 instead of a retry storm.
import type { EngineRegistry } from '../engine/registry.ts';
import type { EngineName } from '../engine/types.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { compareVersions, latestVersions, readManifest, type ModelSource } from '../model/repository.ts';
import type { FeatureAssembler } from '../features/feature-assembler.ts';
import type { PreprocessingSpec } from '../preprocess/index.ts';
import { loadModel, type LoadedModel } from './loaded-model.ts';

/** Where a model stands. */
export type ModelState =
  | { status: 'loading'; version: string }
  | { status: 'ready'; version: string; model: LoadedModel }
  | { status: 'failed'; version: string; error: string };

/** Options of the model store. */
export interface ModelStoreOptions {
  source: ModelSource;
  engines: EngineRegistry;
  /** ORT engines in the order this target prefers them (e.g. ort-node before ort-web in Node). */
  ortPreference: readonly EngineName[];
  /** Fills features/embedding inputs of the models (core/features); absent → declared defaults, answers degraded. */
  features?: FeatureAssembler;
}

/** Served models, by name (the latest version of each). */
export class ModelStore {
  readonly #options: ModelStoreOptions;
  #catalog?: Promise<Map<string, string>>;
  #manifests?: Promise<Map<string, ModelManifest>>;
  readonly #states = new Map<string, ModelState>();
  readonly #loading = new Map<string, Promise<LoadedModel>>();
  /** Versions other than the latest (rollout arms), loaded on demand: `name@version` → model. */
  readonly #versions = new Map<string, Promise<LoadedModel | undefined>>();
  /** Per model name: every version's preprocessing (read from its model.json once), newest first. */
  readonly #preprocessings = new Map<string, Promise<Array<{ version: string; preprocessing: PreprocessingSpec }>>>();

  constructor(options: ModelStoreOptions) {
    this.#options = options;
  }

  #loadOptions() {
    return this.#options.features ? { features: this.#options.features } : {};
  }

  /** Model name → version served, read once from the repository. */
  catalog(): Promise<Map<string, string>> {
    this.#catalog ??= latestVersions(this.#options.source).then((list) => new Map(list.map((m) => [m.name, m.version])));
    return this.#catalog;
  }

  /**
   * The model.json of each cataloged model (latest version), read without loading the graph;
   * a model.json that does not parse is left out (its load reports why).
   */
  manifests(): Promise<Map<string, ModelManifest>> {
    this.#manifests ??= this.catalog().then(async (catalog) => {
      const out = new Map<string, ModelManifest>();
      const { source } = this.#options;
      for (const [name, version] of catalog) {
        const path = `${name}/${version}/model.json`;
        try {
          out.set(name, await readManifest(source, path));
        } catch {
          // reported by the load
        }
      }
      return out;
    });
    return this.#manifests;
  }

  /** Current state of a model, or undefined when it was never asked for. */
  state(name: string): ModelState | undefined {
    return this.#states.get(name);
  }

  /** Loads (once) and returns the model; rejects with the load error. Unknown names resolve undefined. */
  async get(name: string): Promise<LoadedModel | undefined> {
    const version = (await this.catalog()).get(name);
    if (version === undefined) return undefined;
    let pending = this.#loading.get(name);
    if (!pending) {
      this.#states.set(name, { status: 'loading', version });
      pending = loadModel(this.#options.source, name, version, this.#options.engines, this.#options.ortPreference, this.#loadOptions()).then(
        (model) => {
          this.#states.set(name, { status: 'ready', version, model });
          return model;
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          this.#states.set(name, { status: 'failed', version, error: message });
          throw new Error(message);
        },
      );
      // A failed load is remembered (state 'failed'); callers see the same error until restart.
      pending.catch(() => {});
      this.#loading.set(name, pending);
    }
    return pending;
  }

  /**
   * A specific version (a rollout arm): the latest goes through `get`, others load once on
   * first use. Resolves undefined when the repository has no such version; rejects with the load error.
   */
  async getVersion(name: string, version: string): Promise<LoadedModel | undefined> {
    if ((await this.catalog()).get(name) === version) return this.get(name);
    const key = `${name}@${version}`;
    let pending = this.#versions.get(key);
    if (!pending) {
      pending = this.#options.source.list().then((models) => {
        if (!models.some((m) => m.name === name && m.versions.includes(version))) return undefined;
        return loadModel(this.#options.source, name, version, this.#options.engines, this.#options.ortPreference, this.#loadOptions());
      });
      pending.catch(() => {});
      this.#versions.set(key, pending);
    }
    return pending;
  }

  /**
   * The newest version of `name` whose preprocessing satisfies `matches`, or undefined. Reads
   * the model.json of every version in the repository (once per name; a file that does not
   * parse is skipped): ids made with an older version's preprocessing are answered by that
   * version while the repository keeps it. An edge bundle embeds only the latest versions.
   */
  async versionWithPreprocessing(name: string, matches: (spec: PreprocessingSpec) => boolean): Promise<string | undefined> {
    let pending = this.#preprocessings.get(name);
    if (!pending) {
      const { source } = this.#options;
      pending = source.list().then(async (models) => {
        const versions = [...(models.find((m) => m.name === name)?.versions ?? [])].sort(compareVersions).reverse();
        const out: Array<{ version: string; preprocessing: PreprocessingSpec }> = [];
        for (const version of versions) {
          const path = `${name}/${version}/model.json`;
          try {
            const { preprocessing } = await readManifest(source, path);
            if (preprocessing) out.push({ version, preprocessing });
          } catch {
            // reported when that version is loaded
          }
        }
        return out;
      });
      pending.catch(() => {});
      this.#preprocessings.set(name, pending);
    }
    return (await pending.catch(() => [])).find((v) => matches(v.preprocessing))?.version;
  }

  /** Loads every model in the catalog, one after another (bounded memory at cold start). */
  async loadAll(): Promise<ModelState[]> {
    const names = [...(await this.catalog()).keys()];
    for (const name of names) await this.get(name).catch(() => {});
    return names.map((name) => this.#states.get(name) as ModelState);
  }

  /** True when every cataloged model is ready (strict readiness, as Triton's default). */
  async allReady(): Promise<boolean> {
    const catalog = await this.catalog();
    if (catalog.size === 0) return false;
    for (const name of catalog.keys()) if (this.#states.get(name)?.status !== 'ready') return false;
    return true;
  }

  /** Releases every loaded session. */
  async close(): Promise<void> {
    for (const state of this.#states.values()) if (state.status === 'ready') await state.model.release().catch(() => {});
    for (const pending of this.#versions.values()) await pending.then((model) => model?.release()).catch(() => {});
  }
}
