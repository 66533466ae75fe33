// Engine registry (after onnxruntime's backend registry): engines register a lazy factory;
// each is initialised at most once (one shared promise), the first that initialises in
// priority order is used, and the reasons others were skipped are kept for /v2 metadata
// and error messages.
import type { Engine, EngineName } from './types.ts';

/** Creates an engine; may fail when its runtime is absent (no native binary, no WASM). */
export type EngineFactory = () => Promise<Engine>;

interface Registration {
  factory: EngineFactory;
  instance?: Promise<Engine>;
  failure?: string;
}

/** Holds the engines a target was built with. */
export class EngineRegistry {
  readonly #engines = new Map<EngineName, Registration>();

  /** Adds an engine; a later registration under the same name replaces the earlier one. */
  register(name: EngineName, factory: EngineFactory): void {
    this.#engines.set(name, { factory });
  }

  /** Names registered, in registration order. */
  names(): EngineName[] {
    return [...this.#engines.keys()];
  }

  /** Why each engine that failed to initialise was not used. */
  failures(): Partial<Record<EngineName, string>> {
    const out: Partial<Record<EngineName, string>> = {};
    for (const [name, reg] of this.#engines) if (reg.failure) out[name] = reg.failure;
    return out;
  }

  /** Initialises (once) and returns the named engine; rejects with the reason it cannot run. */
  get(name: EngineName): Promise<Engine> {
    const reg = this.#engines.get(name);
    if (!reg) {
      return Promise.reject(new Error(`engine "${name}" is not part of this build (built with: ${this.names().join(', ') || 'none'})`));
    }
    reg.instance ??= reg.factory().catch((error: unknown) => {
      reg.failure = error instanceof Error ? error.message : String(error);
      throw new Error(`engine "${name}" failed to initialise: ${reg.failure}`);
    });
    return reg.instance;
  }

  /** The first engine of `preference` that initialises; the error lists why each was skipped. */
  async first(preference: readonly EngineName[]): Promise<Engine> {
    const reasons: string[] = [];
    for (const name of preference) {
      try {
        return await this.get(name);
      } catch (error) {
        reasons.push(error instanceof Error ? error.message : String(error));
      }
    }
    throw new Error(`no engine could run: ${reasons.join('; ')}`);
  }
}
