// What route handlers share: resolved configuration, the model store and the cascade routers, plus the lookup
// that turns "model not found / not loadable" into the right HTTP error.
import { HttpError } from './http/errors.ts';
import type { PredictionCaching } from './cache/prediction-caching.ts';
import type { FeatureAssembler } from './features/feature-assembler.ts';
import { DEFAULT_CASCADE_CONFIG, type Cascade, type CascadeConfig } from './router/cascade.ts';
import type { ModelManifest } from './model/manifest.ts';
import type { LoadedModel } from './serving/loaded-model.ts';
import type { ModelStore } from './serving/model-store.ts';
import { preprocessingFingerprint } from './preprocess/fingerprint.ts';
import type { Telemetry } from './telemetry/telemetry.ts';
import type { Rollout } from './rollout/rollout.ts';
import type { RateLimitGate } from './ratelimit/rate-limit-gate.ts';

/** Service configuration with defaults applied. */
export interface ServiceConfig {
  /** Largest accepted request body in bytes (413 above). */
  maxBodyBytes: number;
  /**
   * Model answering /v1/predict when the request names none (EDGEINFER_DEFAULT_MODEL).
   * Unset: the repository's only model, else the only non-regional model that takes what
   * the request sends (see {@link ServiceContext.defaultModel}).
   */
  defaultModel?: string;
  /** Name and version reported by GET /v2. */
  serverName: string;
  serverVersion: string;
  /** Edge → regional escalation (pairs, budget, saturation limit, circuit breaker). */
  cascade: CascadeConfig;
  /** Bearer token of admin routes (GET /_warm, /metrics, /dashboard); unset → /_warm answers 404, /metrics is open, the dashboard is loopback-only. */
  adminToken?: string;
  /**
   * Key signing dashboard sessions (EDGEINFER_SESSION_KEY): shared by every isolate, and
   * changing it revokes every session. Unset: a random key per isolate.
   */
  sessionKey?: string;
}

/** Default configuration: 64 KB bodies, the default model found in the repository. */
export const DEFAULT_SERVICE_CONFIG: ServiceConfig = {
  maxBodyBytes: 64 * 1024,
  serverName: 'edgeinfer',
  serverVersion: '0.1.0',
  cascade: DEFAULT_CASCADE_CONFIG,
};

/** Shared by every route of one service instance. */
export interface ServiceContext {
  config: ServiceConfig;
  models: ModelStore;
  /** Routers of the edge models that escalate to a regional tier. */
  cascade: Cascade;
  /** The prediction cache (L1, and L2 where configured); absent → nothing is cached. */
  caching?: PredictionCaching;
  /** Assembles feature and embedding inputs from the declared views (one round trip a request); absent → none. */
  features?: FeatureAssembler;
  /** Metrics of this isolate (and the fleet, with a fleet store); absent when turned off. */
  telemetry?: Telemetry;
  /** Phased rollouts of model versions (traffic split, canary, shadow); absent → the latest version serves. */
  rollout?: Rollout;
  /** Per-client rate limit of the inference routes (core/ratelimit); absent → not limited. */
  rateLimit?: RateLimitGate;
  /**
   * The model of a request that names none: the configured default; else the only model in
   * the repository; else the only model not marked `role: "regional"` that takes what the
   * request sends (`sends`: text or ids → a text input, fields → fields/feature inputs,
   * inputs → request tensors). 400 naming the candidates when that is not one model.
   */
  defaultModel(sends?: RequestShape): Promise<string>;
  /** The named model, loaded; 404 when unknown, 503 when it cannot be served. */
  requireModel(name: string): Promise<LoadedModel>;
  /** A specific version (a rollout arm), loaded; 503 when it is missing or cannot be served. */
  requireModelVersion(name: string, version: string): Promise<LoadedModel>;
  /**
   * For token ids a client made itself: the newest version of `name` whose preprocessing is
   * the one the client names ({id, version, fingerprint?}), loaded; undefined when the
   * repository has none (the caller's model then refuses the ids with a 409).
   */
  modelForClientIds(name: string, sent: { id: string; version: number; fingerprint?: string }): Promise<LoadedModel | undefined>;
}

/** What a /v1/predict request sends, for choosing the default model. */
export type RequestShape = 'text' | 'fields' | 'inputs';

const TAKES: Readonly<Record<RequestShape, (m: ModelManifest) => boolean>> = {
  text: (m) => m.inputs.some((i) => i.source === 'text'),
  fields: (m) => m.inputs.some((i) => i.source === 'fields' || i.source === 'features' || i.source === 'embedding'),
  inputs: (m) => m.inputs.some((i) => i.source === 'request'),
};

/** Builds the context over a model store. */
export function createServiceContext(
  config: ServiceConfig,
  models: ModelStore,
  cascade: Cascade,
  caching?: PredictionCaching,
  features?: FeatureAssembler,
): ServiceContext {
  const defaults = new Map<string, Promise<string>>();
  const chooseDefault = async (sends: RequestShape | undefined): Promise<string> => {
    const catalog = await models.catalog();
    if (catalog.size === 1) return [...catalog.keys()][0] as string;
    const manifests = await models.manifests();
    const candidates = [...manifests.values()].filter((m) => m.role !== 'regional' && (sends === undefined || TAKES[sends](m))).map((m) => m.name);
    if (candidates.length === 1) return candidates[0] as string;
    const takes = (verb: string) => (sends === undefined ? '' : ` that ${verb} "${sends}"`);
    const choice = candidates.length ? `the models${takes('take')} are ${candidates.join(', ')}` : `no model${takes('takes')}; this server has ${[...catalog.keys()].join(', ') || 'none'}`;
    throw new HttpError(400, 'invalid_request', `name the model: send "model" (${choice}), or set EDGEINFER_DEFAULT_MODEL on the server`);
  };
  return {
    config,
    models,
    cascade,
    ...(caching ? { caching } : {}),
    ...(features ? { features } : {}),
    defaultModel(sends) {
      if (config.defaultModel !== undefined) return Promise.resolve(config.defaultModel);
      // The catalog does not change while the service runs: one answer per request shape.
      const key = sends ?? 'any';
      let chosen = defaults.get(key);
      if (!chosen) {
        chosen = chooseDefault(sends);
        defaults.set(key, chosen);
      }
      return chosen;
    },
    async requireModel(name) {
      let model: LoadedModel | undefined;
      try {
        model = await models.get(name);
      } catch (error) {
        throw new HttpError(503, 'model_not_ready', `model "${name}" cannot be served: ${publicLoadProblem(error)}`, {
          'retry-after': '30',
        });
      }
      if (!model) {
        const known = [...(await models.catalog()).keys()];
        throw new HttpError(404, 'model_not_found', `unknown model "${name.slice(0, 100)}"; this server has: ${known.join(', ') || 'none'}`);
      }
      return model;
    },
    async requireModelVersion(name, version) {
      let model: LoadedModel | undefined;
      try {
        model = await models.getVersion(name, version);
      } catch (error) {
        throw new HttpError(503, 'model_not_ready', `model "${name}" version ${version} cannot be served: ${publicLoadProblem(error)}`, { 'retry-after': '30' });
      }
      // The rollout plan names a version the repository does not have: a deployment mistake, not the caller's.
      if (!model) throw new HttpError(503, 'model_not_ready', `the rollout of "${name}" routes to version ${version}, which is not in the model repository`, { 'retry-after': '30' });
      return model;
    },
    async modelForClientIds(name, sent) {
      const version = await models.versionWithPreprocessing(
        name,
        (spec) => spec.id === sent.id && spec.version === sent.version && (sent.fingerprint === undefined || preprocessingFingerprint(spec) === sent.fingerprint),
      );
      return version === undefined ? undefined : this.requireModelVersion(name, version);
    },
  };
}

/** Load problems already written to the log (each once, bounded). */
const loggedProblems = new Set<string>();

/**
 * A load error as an unauthenticated client may read it: the file named by its last three path
 * segments (<name>/<version>/<file>) and no hashes. Absolute server paths and sha256 values go
 * to the server log instead, once per distinct problem (#17 item 14).
 */
export function publicLoadProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!loggedProblems.has(message) && loggedProblems.size < 1_000) {
    loggedProblems.add(message);
    console.error(`edgeinfer: model load failed: ${message}`);
  }
  return message
    .replace(/(?:[A-Za-z]:)?(?:[\\/][^\\/\s:"'`]+){4,}/g, (path) => path.split(/[\\/]/).slice(-3).join('/'))
    .replace(/\b[0-9a-f]{64}\b/gi, '<sha256>');
}

