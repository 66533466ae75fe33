// The embedded defaults of the local server: models from the repository's models/ folder,
// ONNX Runtime engines (native ort-node first, ort-web as fallback), no Redis, no AWS: the
// regional tier runs in this process (the same predictor the Lambda function wraps).
// Tests and benchmarks build the same service through this function.
import { createHash } from 'node:crypto';
// The node server serves Hugging Face tokenizer.json text models (no bundle size to mind here).
import '../../core/preprocess/hf-tokenizer-preprocessor.ts';
import { createOrtNodeEngine } from '../../core/engine/ort-node/ort-node-engine.ts';
import { EngineRegistry } from '../../core/engine/registry.ts';
import type { EngineName } from '../../core/engine/types.ts';
import { createInferenceService, type InferenceService, type InferenceServiceOptions } from '../../core/handler.ts';
import { DEFAULT_MODELS_ROOT, FsModelSource } from './fs-model-source.ts';
import { latestVersions, type ModelSource } from '../../core/model/repository.ts';
import { parseManifest } from '../../core/model/manifest.ts';
import { firstWarmupRequest, signatureOf } from '../../core/serving/loaded-model.ts';
import { createNodeOrtWebEngine } from './ort-wasm-binary.ts';
import { createNodeMicroEngine } from './micro-engine.ts';
import { createRegionalLambda } from '../aws-lambda/regional-handler.ts';
import { createInProcessRegionalTier } from '../../core/router/in-process-regional-tier.ts';
import { createLambdaRegionalTier } from '../../core/router/lambda-regional-tier.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../core/router/cascade.ts';
import type { RegionalTier } from '../../core/router/regional-tier.ts';
import { CACHE_ENV_NAMES, createCacheFromEnv, type CacheEnv } from '../../core/cache/config.ts';
import type { CachePolicyOptions } from '../../core/cache/policy.ts';
import type { FeatureRepository } from '../../core/features/declarations.ts';
import { createFeatureAssembler } from '../../core/features/feature-assembler.ts';
import { loadFeatureRepository } from '../../features/index.ts';
import { type EdgeProvider, priceTableFor } from '../../core/cache/price-table.ts';
import { costProviderFrom } from '../edge/edge-service.ts';
import { createUpstashFleetStore } from '../../core/telemetry/fleet-store.ts';
import type { UpstashClientFactory } from '../../core/upstash/rest-client.ts';
import { createUpstashRedisClient } from './upstash-redis-client.ts';
import type { TelemetryOptions } from '../../core/telemetry/telemetry.ts';
import type { RolloutConfig } from '../../core/rollout/rollout.ts';
import { CORS_ENV_NAMES, createCorsFromEnv } from '../../core/http/cors.ts';
import { createRateLimitFromEnv, LOCAL_DEFAULT_RATE_LIMIT, RATE_LIMIT_ENV_NAMES } from '../../core/ratelimit/config.ts';

/** Which regional tier the local service escalates to. */
export type LocalRegionalTier =
  | { kind: 'in-process' }
  | { kind: 'lambda'; functionName: string; region: string; endpoint?: string }
  | { kind: 'none' };

/** Options of the local service; every field has an embedded default. */
export interface LocalServiceOptions {
  /** Model repository root (default: models/ of this repository). */
  modelsRoot?: string;
  /** ORT engines in order of preference (default: ort-node, then ort-web). */
  ortPreference?: EngineName[];
  /**
   * Register the micro engine (compiles each model at load), so models whose model.json
   * says `engine: "auto"` or `"micro"` run on it, as they do at the edge. On by default;
   * `false` (EDGEINFER_MICRO=0) runs them on ONNX Runtime instead.
   */
  micro?: boolean;
  config?: InferenceServiceOptions['config'];
  /** Default: in-process (no AWS). */
  regional?: LocalRegionalTier;
  /**
   * Cache settings (UPSTASH_REDIS_REST_URL/TOKEN, EDGEINFER_CACHE_*). Default: L1 in memory
   * with the auto policy; Upstash (real, or `npm run redis:rest`) when both variables are set.
   */
  cache?: CacheEnv;
  /** Tuning of the cache policy beyond the environment (e.g. the PoP→region latency a hit avoids, as bench:fleet models it). */
  cachePolicy?: Partial<CachePolicyOptions>;
  /** Declared feature views (default: the repository's features/ folder); `false`: none. */
  features?: FeatureRepository | false;
  /**
   * Telemetry settings; `false` turns it off. Default: on, priced as `costProvider`, and
   * flushing to Upstash (for the fleet view) when the cache's UPSTASH_REDIS_REST_URL/TOKEN are set.
   */
  telemetry?: TelemetryOptions | false;
  /** Whose edge prices cost the predictions (EDGEINFER_COST_PROVIDER; default vercel-edge). */
  costProvider?: EdgeProvider;
  /** Phased rollouts per model (EDGEINFER_ROLLOUT, JSON: {"<model>": {"split": {"1": 90, "2": 10}, "canary": {...}}}). */
  rollout?: RolloutConfig;
  /**
   * Per-client rate limit of the inference routes: the EDGEINFER_RATE_LIMIT* variables
   * (core/ratelimit/config.ts). Unset: no limit (tests); `npm start` reads the environment,
   * where it defaults to LOCAL_DEFAULT_RATE_LIMIT. In memory, or Upstash when the cache's
   * UPSTASH_REDIS_REST_URL/TOKEN are set.
   */
  rateLimit?: Record<string, string | undefined>;
  /** Cross-origin access: the EDGEINFER_CORS_* variables (core/http/cors.ts); unset: off (same-origin only). */
  cors?: Record<string, string | undefined>;
  /**
   * The Upstash client of the cache, rate limit and fleet store (default: @upstash/redis,
   * adapters/node/upstash-redis-client.ts; tests also pass core's fetch client).
   */
  upstashClient?: UpstashClientFactory;
  /** Receives the one-line description of the cache at startup. */
  log?: (line: string) => void;
}

/** Reads EDGEINFER_* (and the Upstash) variables into local service options. */
export function localServiceOptionsFromEnv(env: NodeJS.ProcessEnv): LocalServiceOptions {
  const options: LocalServiceOptions = {};
  const cache: CacheEnv = {};
  for (const name of CACHE_ENV_NAMES) if (env[name] !== undefined) cache[name] = env[name];
  options.cache = cache;
  // On by default for `npm start`: a person using the demo never meets it, a script flooding the server does.
  options.rateLimit = { EDGEINFER_RATE_LIMIT: LOCAL_DEFAULT_RATE_LIMIT };
  for (const name of RATE_LIMIT_ENV_NAMES) if (env[name] !== undefined) options.rateLimit[name] = env[name];
  for (const name of CORS_ENV_NAMES) if (env[name] !== undefined) (options.cors ??= {})[name] = env[name];
  if (env.EDGEINFER_MODELS_DIR) options.modelsRoot = env.EDGEINFER_MODELS_DIR;
  if (env.EDGEINFER_ORT_ENGINE === 'ort-web') options.ortPreference = ['ort-web', 'ort-node'];
  if (env.EDGEINFER_MICRO === '0') options.micro = false;
  if (env.EDGEINFER_MAX_BODY_BYTES) options.config = { maxBodyBytes: Number(env.EDGEINFER_MAX_BODY_BYTES) };
  const budgetMs = Number(env.EDGEINFER_REGIONAL_BUDGET_MS);
  const maxInFlight = Number(env.EDGEINFER_MAX_IN_FLIGHT);
  if (budgetMs > 0 || maxInFlight >= 1) {
    options.config = {
      ...options.config,
      cascade: { ...DEFAULT_CASCADE_CONFIG, ...(budgetMs > 0 ? { budgetMs } : {}), ...(maxInFlight >= 1 ? { maxInFlight } : {}) },
    };
  }
  if (env.EDGEINFER_ADMIN_TOKEN) options.config = { ...options.config, adminToken: env.EDGEINFER_ADMIN_TOKEN };
  if (env.EDGEINFER_SESSION_KEY) options.config = { ...options.config, sessionKey: env.EDGEINFER_SESSION_KEY };
  if (env.EDGEINFER_DEFAULT_MODEL) options.config = { ...options.config, defaultModel: env.EDGEINFER_DEFAULT_MODEL };
  if (env.EDGEINFER_COST_PROVIDER) options.costProvider = costProviderFrom(env.EDGEINFER_COST_PROVIDER);
  if (env.EDGEINFER_ROLLOUT) {
    try {
      options.rollout = JSON.parse(env.EDGEINFER_ROLLOUT) as RolloutConfig;
    } catch (error) {
      throw new Error(`EDGEINFER_ROLLOUT must be JSON like {"<model>": {"split": {"1": 90, "2": 10}}}: ${(error as Error).message}`);
    }
  }
  if (env.EDGEINFER_TELEMETRY_WINDOW_MS) {
    const windowMs = Number(env.EDGEINFER_TELEMETRY_WINDOW_MS);
    if (!(windowMs >= 1_000)) throw new Error(`EDGEINFER_TELEMETRY_WINDOW_MS must be a number ≥ 1000, got "${env.EDGEINFER_TELEMETRY_WINDOW_MS}"`);
    options.telemetry = { windowMs };
  }
  if (env.EDGEINFER_OTLP_URL) {
    if (!/^https?:\/\//.test(env.EDGEINFER_OTLP_URL)) throw new Error(`EDGEINFER_OTLP_URL must be an http(s) URL (the collector's /v1/metrics), got "${env.EDGEINFER_OTLP_URL}"`);
    options.telemetry = { ...(options.telemetry || {}), otlp: { url: env.EDGEINFER_OTLP_URL } };
  }
  // EDGEINFER_REGIONAL=lambda sends escalations through the AWS SDK (e.g. to `npm run lambda:local`).
  if (env.EDGEINFER_REGIONAL === 'none') options.regional = { kind: 'none' };
  if (env.EDGEINFER_REGIONAL === 'lambda') {
    options.regional = {
      kind: 'lambda',
      functionName: env.EDGEINFER_REGIONAL_FUNCTION ?? 'edgeinfer-regional',
      region: env.AWS_REGION ?? 'us-east-1',
      ...(env.EDGEINFER_REGIONAL_ENDPOINT ? { endpoint: env.EDGEINFER_REGIONAL_ENDPOINT } : {}),
    };
  }
  return options;
}

/** Builds the service with local engines and the file-system model repository. */
export function createLocalService(options: LocalServiceOptions = {}): InferenceService {
  const engines = new EngineRegistry();
  engines.register('ort-node', () => createOrtNodeEngine());
  engines.register('ort-web', () => createNodeOrtWebEngine());
  if (options.micro ?? true) engines.register('micro', async () => createNodeMicroEngine());
  const models = new FsModelSource(options.modelsRoot ?? DEFAULT_MODELS_ROOT);
  const choice = options.regional ?? { kind: 'in-process' };
  let regional: RegionalTier | undefined;
  let closeRegional = async () => {};
  if (choice.kind === 'lambda') {
    // Credentials come from the SDK's default chain; a local Invoke API accepts any, so a
    // local endpoint without AWS credentials in the environment gets placeholders.
    const placeholder = choice.endpoint && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE;
    regional = createLambdaRegionalTier({ ...choice, ...(placeholder ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}) });
  }
  // Cache writes made after a response are tracked so close() can wait for them.
  const background = new Set<Promise<unknown>>();
  const upstashClient = options.upstashClient ?? createUpstashRedisClient;
  const { cache, description } = createCacheFromEnv(options.cache ?? {}, {
    upstashClient,
    ...(options.cachePolicy ? { policy: options.cachePolicy } : {}),
    waitUntil: (promise) => {
      const tracked = promise.catch(() => {});
      background.add(tracked);
      void tracked.finally(() => background.delete(tracked));
    },
  });
  options.log?.(`edgeinfer: ${description}`);
  const repository = options.features === false ? undefined : (options.features ?? loadFeatureRepository());
  const features = repository && repository.views.size > 0 ? createFeatureAssembler({ repository, ...(cache.remote ? { remote: cache.remote } : {}) }) : undefined;
  if (repository && features) {
    const views = [...repository.views.values()].map((v) => `${v.name}@${v.version}`).join(', ');
    options.log?.(`edgeinfer: feature views ${views}${cache.remote ? '' : ' (no Upstash: declared defaults, answers marked features_unavailable)'}`);
  }
  if (choice.kind === 'in-process') {
    // The regional function's own feature source, as the Lambda has (same store here, its own L1).
    const regionalFeatures = repository && repository.views.size > 0 ? createFeatureAssembler({ repository, ...(cache.remote ? { remote: cache.remote } : {}) }) : undefined;
    const fn = createRegionalLambda({ models, ...(regionalFeatures ? { features: regionalFeatures } : {}) });
    regional = createInProcessRegionalTier((request) => fn.predictor.predict(request));
    closeRegional = () => fn.predictor.close();
  }
  const upstash = options.cache?.UPSTASH_REDIS_REST_URL && options.cache.UPSTASH_REDIS_REST_TOKEN ? { url: options.cache.UPSTASH_REDIS_REST_URL, token: options.cache.UPSTASH_REDIS_REST_TOKEN } : undefined;
  const telemetry: TelemetryOptions | false =
    options.telemetry === false
      ? false
      : {
          prices: priceTableFor(options.costProvider ?? 'vercel-edge'),
          ...(upstash ? { fleet: createUpstashFleetStore({ ...upstash, client: upstashClient }) } : {}),
          ...options.telemetry,
        };
  const rateLimit = options.rateLimit ? createRateLimitFromEnv({ ...options.cache, ...options.rateLimit }, undefined, upstashClient) : undefined;
  if (rateLimit) options.log?.(`edgeinfer: ${rateLimit.description}`);
  const cors = options.cors ? createCorsFromEnv(options.cors) : undefined;
  if (cors) options.log?.(`edgeinfer: CORS for ${cors.origins === '*' ? 'any origin' : [...cors.origins].join(', ')}`);
  const service = createInferenceService({
    ...(cors ? { cors } : {}),
    models,
    telemetry,
    ...(rateLimit?.gate ? { rateLimit: rateLimit.gate } : {}),
    ...(options.rollout ? { rollout: options.rollout } : {}),
    engines,
    cache,
    ...(features ? { features } : {}),
    ortPreference: options.ortPreference ?? ['ort-node', 'ort-web'],
    config: options.config,
    ...(regional ? { regional } : {}),
    digest: nodeSha256Hex,
  });
  const budgetMs = options.config?.cascade?.budgetMs ?? DEFAULT_CASCADE_CONFIG.budgetMs;
  return {
    ...service,
    // Ready means a first request answers like any later one: every model is loaded and
    // warmed, and so is the in-process regional tier (its first call loads the regional
    // model, which alone can overrun the escalation budget).
    async warm() {
      const states = await service.warm();
      if (choice.kind === 'in-process' && regional) {
        const report = await warmRegionalTier(regional, await regionalModelsOf(models), budgetMs);
        if (report) options.log?.(`edgeinfer: ${report}`);
      }
      return states;
    },
    async close() {
      await Promise.allSettled([...background]);
      await service.close();
      await closeRegional();
    },
  };
}

/** A regional model and the request that warms it (what an escalation to it carries: text or fields). */
export interface RegionalWarmup {
  model: string;
  request: { text?: string; fields?: Record<string, string | number> };
}

/**
 * Models the cascade escalates to: those whose model.json says `"role": "regional"`, those an
 * edge model names in `cascade.regional`; each with a warm request from its signature (a short
 * text for a text model, its first warmup request's fields for a tabular one). A model fed
 * client tensors is left out: a regional request carries none.
 */
export async function regionalModelsOf(source: ModelSource): Promise<RegionalWarmup[]> {
  const names = new Set<string>();
  const warmups = new Map<string, RegionalWarmup['request']>();
  for (const { name, version } of await latestVersions(source)) {
    try {
      const json = new TextDecoder().decode(await source.read(`${name}/${version}/model.json`));
      const raw = JSON.parse(json) as { role?: unknown; cascade?: { regional?: unknown } };
      if (raw.role === 'regional') names.add(name);
      if (typeof raw.cascade?.regional === 'string') names.add(raw.cascade.regional);
      const manifest = parseManifest(json, `${name}/${version}/model.json`);
      if (manifest.inputs.some((i) => i.source === 'request')) continue;
      const warm = firstWarmupRequest({ manifest, signature: signatureOf(manifest) });
      warmups.set(name, { ...(warm.text !== undefined ? { text: warm.text } : {}), ...(warm.fields && Object.keys(warm.fields).length ? { fields: { ...warm.fields } } : {}) });
    } catch {
      // A model.json that does not read is reported by the model store.
    }
  }
  return [...names]
    .filter((name) => warmups.has(name))
    .sort()
    .map((model) => ({ model, request: warmups.get(model) as RegionalWarmup['request'] }));
}

/**
 * Calls the regional tier for each model until one call answers within the escalation
 * budget (the first loads and warms the model), at most 5 calls each; returns a log line.
 */
export async function warmRegionalTier(tier: RegionalTier, models: readonly RegionalWarmup[], budgetMs: number): Promise<string | undefined> {
  if (models.length === 0) return undefined;
  const parts: string[] = [];
  for (const { model, request } of models) {
    let last = '';
    for (let attempt = 1; attempt <= 5; attempt++) {
      const t0 = performance.now();
      const outcome = await tier.invoke({ model, ...request, requestId: `warm-${attempt}`, deadlineMs: Date.now() + 30_000 }, AbortSignal.timeout(30_000));
      const ms = performance.now() - t0;
      last = outcome.ok ? `${ms.toFixed(1)} ms` : `${outcome.reason}: ${outcome.message}`;
      if (outcome.ok && ms <= budgetMs) break;
    }
    parts.push(`${model} ${last}`);
  }
  return `regional tier ${tier.kind} warm (${parts.join(', ')}; budget ${budgetMs} ms)`;
}

/** Cache-key digest with node:crypto: the same hex SHA-256 (strings as UTF-8, bytes as they are) as the core's portable one, several times faster. */
export function nodeSha256Hex(...parts: Array<string | Uint8Array>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    if (typeof part === 'string') hash.update(part, 'utf8');
    else hash.update(part);
  }
  return hash.digest('hex');
}
