// The service every edge target serves (Vercel Edge, Netlify Edge, Lambda@Edge): models
// embedded in the bundle, the micro engine over modules compiled at build time, ort-web
// only where the target ships its WASM, and configuration from a plain variable map (the
// platform's env, or values baked in at build time where there is none). Web-standard:
// it runs in V8 isolates, Deno and Node alike.
import { CACHE_ENV_NAMES, createCacheFromEnv } from '../../core/cache/config.ts';
import { createMicroEngine } from '../../core/engine/micro/micro-engine.ts';
import type { MicroModuleSource } from '../../core/engine/micro/micro-engine.ts';
import type { Engine } from '../../core/engine/types.ts';
import { EngineRegistry } from '../../core/engine/registry.ts';
import { createInferenceService, type InferenceService, type InferenceServiceOptions } from '../../core/handler.ts';
import { createFeatureAssembler } from '../../core/features/feature-assembler.ts';
import { embeddedFeatureRepository } from '../../features/embedded.ts';
import { EmbeddedModelSource, type EmbeddedFiles } from '../../core/model/embedded-source.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../core/router/cascade.ts';
import type { RegionalTier } from '../../core/router/regional-tier.ts';
import type { SignedFetchRegionalTierOptions } from './signed-fetch-regional-tier.ts';
import { type EdgeProvider, priceTableFor } from '../../core/cache/price-table.ts';
import { createUpstashFleetStore } from '../../core/telemetry/fleet-store.ts';
import { createRateLimitFromEnv, RATE_LIMIT_ENV_NAMES } from '../../core/ratelimit/config.ts';
import { CORS_ENV_NAMES, createCorsFromEnv } from '../../core/http/cors.ts';

/** Variables an edge service reads (all optional). */
export type EdgeEnv = Readonly<Record<string, string | undefined>>;

/** What a built edge bundle hands over. */
export interface EdgeServiceOptions {
  /** Model repository files embedded by the bundler. */
  files: EmbeddedFiles;
  /** Micro modules by the sha256 of their .onnx, and why others did not compile. */
  microModules: Readonly<Record<string, MicroModuleSource>>;
  microCompileFailures?: Readonly<Record<string, string>>;
  /**
   * Creates the ort-web engine, where the target ships ORT and its WASM; without it only
   * micro runs. A factory passed in by the entry, so micro-only bundles never import ORT.
   */
  ortWeb?: () => Promise<Engine>;
  env: EdgeEnv;
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** The edge's AWS variables (the node server keeps the SDK's standard chain: AWS_*, profiles, roles). */
export const EDGE_AWS_ENV_NAMES = ['EDGEINFER_AWS_REGION', 'EDGEINFER_AWS_ACCESS_KEY_ID', 'EDGEINFER_AWS_SECRET_ACCESS_KEY', 'EDGEINFER_AWS_SESSION_TOKEN'] as const;

/** The alias the regional template publishes, warms and gives provisioned concurrency: escalations go there unless told otherwise. */
export const REGIONAL_ALIAS = 'live';

/** Variables an edge build may bake in or read; the rest of the environment is ignored. */
export const EDGE_ENV_VARS = [
  ...CACHE_ENV_NAMES,
  'EDGEINFER_ADMIN_TOKEN',
  'EDGEINFER_SESSION_KEY',
  'EDGEINFER_MAX_BODY_BYTES',
  // The model of requests that name none, when the bundle embeds several that could answer.
  'EDGEINFER_DEFAULT_MODEL',
  // Rate limits: off at the edge unless EDGEINFER_RATE_LIMIT is set (Upstash when configured, else per isolate).
  ...RATE_LIMIT_ENV_NAMES,
  // Cross-origin access: off unless EDGEINFER_CORS_ORIGINS is set.
  ...CORS_ENV_NAMES,
  'EDGEINFER_REGIONAL',
  'EDGEINFER_REGIONAL_FUNCTION',
  'EDGEINFER_REGIONAL_QUALIFIER',
  'EDGEINFER_REGIONAL_ENDPOINT',
  'EDGEINFER_REGIONAL_BUDGET_MS',
  // Telemetry: whose prices cost predictions (vercel-edge | netlify-edge | lambda-edge) and this PoP's name.
  'EDGEINFER_COST_PROVIDER',
  'EDGEINFER_POP',
  'EDGEINFER_OTLP_URL',
  // The regional tier's credentials under names of our own: Vercel may set AWS_* itself (to
  // values that are no usable credentials for this account) and Netlify reserves them.
  ...EDGE_AWS_ENV_NAMES,
] as const;

/** EDGEINFER_COST_PROVIDER checked: whose edge prices cost the predictions (the node server reads it too). */
export function costProviderFrom(value: string): EdgeProvider {
  if (value !== 'vercel-edge' && value !== 'netlify-edge' && value !== 'lambda-edge') {
    throw new Error(`EDGEINFER_COST_PROVIDER must be vercel-edge, netlify-edge or lambda-edge, got "${value}"`);
  }
  return value;
}

function regionalFrom(env: EdgeEnv): RegionalTier | undefined {
  const options = regionalTierOptions(env);
  if (!options) return undefined;
  // Evaluated on the first escalation, not at cold start (a bundler keeps the module in the
  // bundle, wrapped so that it is only parsed until then).
  return lazyRegionalTier('lambda', () => import('./signed-fetch-regional-tier.ts').then((m) => m.createSignedFetchRegionalTier(options)));
}

/** The regional tier's options from the edge's variables (undefined: no regional tier). */
export function regionalTierOptions(env: EdgeEnv): SignedFetchRegionalTierOptions | undefined {
  // Web runtimes have no AWS credential chain: the tier exists only with explicit keys.
  if (env.EDGEINFER_REGIONAL !== 'lambda') return undefined;
  const missing = ['EDGEINFER_AWS_ACCESS_KEY_ID', 'EDGEINFER_AWS_SECRET_ACCESS_KEY'].filter((name) => !env[name]);
  if (missing.length) {
    const legacy = env.AWS_ACCESS_KEY_ID ? ' (AWS_ACCESS_KEY_ID is not read at the edge: Vercel sets AWS_* itself and Netlify reserves them)' : '';
    throw new Error(`EDGEINFER_REGIONAL=lambda needs ${missing.join(' and ')} (edge runtimes have no AWS credential chain)${legacy}`);
  }
  return {
    functionName: env.EDGEINFER_REGIONAL_FUNCTION ?? 'edgeinfer-regional',
    region: env.EDGEINFER_AWS_REGION ?? 'us-east-1',
    // $LATEST is neither warmed nor provisioned: the `live` alias is (build/targets/regional.ts).
    qualifier: env.EDGEINFER_REGIONAL_QUALIFIER || REGIONAL_ALIAS,
    ...(env.EDGEINFER_REGIONAL_ENDPOINT ? { endpoint: env.EDGEINFER_REGIONAL_ENDPOINT } : {}),
    credentials: {
      accessKeyId: env.EDGEINFER_AWS_ACCESS_KEY_ID as string,
      secretAccessKey: env.EDGEINFER_AWS_SECRET_ACCESS_KEY as string,
      ...(env.EDGEINFER_AWS_SESSION_TOKEN ? { sessionToken: env.EDGEINFER_AWS_SESSION_TOKEN } : {}),
    },
  };
}

/** A regional tier created on its first call; `invoke` still never rejects. */
export function lazyRegionalTier(kind: string, create: () => Promise<RegionalTier>): RegionalTier {
  let tier: Promise<RegionalTier> | undefined;
  return {
    kind,
    async invoke(request, signal) {
      tier ??= create();
      try {
        return await (await tier).invoke(request, signal);
      } catch (error) {
        tier = undefined;
        return { ok: false, reason: 'network_error', message: `regional client could not be created: ${error instanceof Error ? error.message : String(error)}` };
      }
    },
  };
}

/** Builds the edge service of one isolate. Bad configuration throws, naming the variable. */
export function createEdgeService(options: EdgeServiceOptions): InferenceService {
  const { env } = options;
  const engines = new EngineRegistry();
  engines.register('micro', async () =>
    createMicroEngine({ modules: options.microModules, ...(options.microCompileFailures ? { compileFailures: options.microCompileFailures } : {}) }),
  );
  if (options.ortWeb) engines.register('ort-web', options.ortWeb);
  const { cache } = createCacheFromEnv(env, options.waitUntil ? { waitUntil: options.waitUntil } : {});
  const config: NonNullable<InferenceServiceOptions['config']> = {};
  if (env.EDGEINFER_ADMIN_TOKEN) config.adminToken = env.EDGEINFER_ADMIN_TOKEN;
  // Shared by every isolate, so a dashboard session signed in one is valid in the others.
  if (env.EDGEINFER_SESSION_KEY) config.sessionKey = env.EDGEINFER_SESSION_KEY;
  if (env.EDGEINFER_DEFAULT_MODEL) config.defaultModel = env.EDGEINFER_DEFAULT_MODEL;
  if (env.EDGEINFER_MAX_BODY_BYTES) {
    const max = Number(env.EDGEINFER_MAX_BODY_BYTES);
    if (!Number.isInteger(max) || max < 1) throw new Error(`EDGEINFER_MAX_BODY_BYTES must be a positive integer, got "${env.EDGEINFER_MAX_BODY_BYTES}"`);
    config.maxBodyBytes = max;
  }
  const budgetMs = Number(env.EDGEINFER_REGIONAL_BUDGET_MS);
  if (budgetMs > 0) config.cascade = { ...DEFAULT_CASCADE_CONFIG, budgetMs };
  const regional = regionalFrom(env);
  const provider = costProviderFrom(env.EDGEINFER_COST_PROVIDER ?? 'vercel-edge');
  // With Upstash configured, every isolate flushes its metrics windows there after responses (the fleet view).
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  const telemetry = {
    prices: priceTableFor(provider),
    ...(url && token ? { fleet: createUpstashFleetStore({ url, token }) } : {}),
    ...(env.EDGEINFER_POP ? { pop: env.EDGEINFER_POP } : {}),
    ...(env.EDGEINFER_OTLP_URL ? { otlp: { url: env.EDGEINFER_OTLP_URL } } : {}),
  };
  // No default limit at the edge: each request to Upstash is a billed command, and the
  // providers offer rate limiting in front of the function; set EDGEINFER_RATE_LIMIT to turn it on.
  const { gate } = createRateLimitFromEnv(env);
  const cors = createCorsFromEnv(env);
  // The declared feature views travel in the bundle; their values come from Upstash (defaults without it).
  const features = createFeatureAssembler({ repository: embeddedFeatureRepository(), ...(cache.remote ? { remote: cache.remote } : {}) });
  return createInferenceService({
    features,
    ...(cors ? { cors } : {}),
    telemetry,
    ...(gate ? { rateLimit: gate } : {}),
    models: new EmbeddedModelSource(options.files),
    engines,
    ortPreference: options.ortWeb ? ['ort-web'] : [],
    cache,
    config,
    ...(regional ? { regional } : {}),
  });
}
