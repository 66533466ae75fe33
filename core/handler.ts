// The one web-standard handler every adapter serves: (Request, context) → Response.
// It routes, turns every failure into a JSON error with a code, and never lets an
// exception escape to the platform (no input may produce a 500 or kill the isolate).
import type { CoreRequest } from './http/core-request.ts';
import { PredictionCaching } from './cache/prediction-caching.ts';
import type { TextDigest } from './cache/keys.ts';
import type { TwoLevelCache } from './cache/two-level-cache.ts';
import type { EngineRegistry } from './engine/registry.ts';
import type { FeatureAssembler } from './features/feature-assembler.ts';
import type { EngineName } from './engine/types.ts';
import { errorReply, HttpError } from './http/errors.ts';
import { JsonReply, toResponse, type RouteResult } from './http/reply.ts';
import { annotateCors, corsPreflight, type CorsConfig } from './http/cors.ts';
import type { ModelSource } from './model/repository.ts';
import { Cascade } from './router/cascade.ts';
import type { RegionalTier } from './router/regional-tier.ts';
import { withCheckedAnswers } from './router/checked-regional-tier.ts';
import { withForwardedFeatures } from './router/forwarded-features.ts';
import { createModelIdentifier } from './cache/model-identity.ts';
import { handlePredict } from './routes/predict.ts';
import { TELEMETRY_ROUTES } from './telemetry/routes.ts';
import { Telemetry, type TelemetryOptions } from './telemetry/telemetry.ts';
import { Rollout, type RolloutConfig } from './rollout/rollout.ts';
import { handleWarm } from './routes/warm.ts';
import { infer, modelMetadata, modelReady, serverMetadata } from './routes/kserve.ts';
import { createServiceContext, DEFAULT_SERVICE_CONFIG, type ServiceConfig, type ServiceContext } from './service-context.ts';
import { ModelStore } from './serving/model-store.ts';
import type { RateLimitGate } from './ratelimit/rate-limit-gate.ts';

/** What the platform gives a request besides the Request itself. */
export interface RequestContext {
  /** Keeps the isolate alive for work finished after the response (cache writes, metrics). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** The adapter's raw event/context, opaque to the core. */
  platform?: unknown;
  /** The client's IP address as the adapter saw it (the node server's socket peer); gates the dashboard without a token. */
  peerAddress?: string;
  /** True when the client's connection to this process is TLS (the node server's socket); decides the cookie's Secure flag. Unset: the request URL's scheme, as the platform built it. */
  secureTransport?: boolean;
  /**
   * The whole request body, when the adapter already read it (the node server buffers small
   * uploads): the Request then has no body of its own and routes read this instead.
   */
  body?: Uint8Array;
  /** The client's IP as the platform reports it (Vercel x-real-ip, Netlify context.ip, CloudFront clientIp): keys rate limits only, never access. */
  clientIp?: string;
  /** Set when the platform truncated the body (CloudFront exposes 40 KB to viewer-request, 1 MB to origin-request): answered 413, never parsed. */
  bodyTruncated?: { limitBytes: number; hint?: string };
}

/** Everything a target supplies to build the service. */
export interface InferenceServiceOptions {
  models: ModelSource;
  engines: EngineRegistry;
  /** ORT engines in this target's order of preference. */
  ortPreference: readonly EngineName[];
  config?: Partial<ServiceConfig>;
  /**
   * Where unconfident edge answers escalate (Lambda client, in-process, cached...). Without
   * one, they are answered at the edge with degraded: true, reason "no_regional_tier".
   */
  regional?: RegionalTier;
  /**
   * The prediction cache of this isolate (core/cache `createCacheFromEnv`). Without one,
   * nothing is cached. With one, regional answers are looked up before the regional call.
   */
  cache?: TwoLevelCache;
  /**
   * SHA-256 (hex) of UTF-8 text for cache keys, when the platform has a faster one than the
   * portable pure-JS default (the node server passes node:crypto's). Must give the same digest.
   */
  digest?: TextDigest;
  /** Assembler of feature and embedding inputs over the declared views (and of `"explain": true` answers); none by default. */
  features?: FeatureAssembler;
  /** Telemetry settings (windows, prices, fleet store on Redis); `false` turns recording off. On by default. */
  telemetry?: TelemetryOptions | false;
  /** Phased rollouts per model (split, canary, shadow); none by default (the latest version serves). */
  rollout?: RolloutConfig;
  /** Per-client rate limit of the inference routes (core/ratelimit/config.ts `createRateLimitFromEnv`); none by default. */
  rateLimit?: RateLimitGate;
  /** Cross-origin access (core/http/cors.ts `createCorsFromEnv`); none by default (same-origin only). */
  cors?: CorsConfig;
  /** Called with unexpected errors (a 500 was answered); defaults to console.error. */
  onInternalError?: (error: unknown, request: CoreRequest) => void;
}

/** A running service: `fetch` for requests, `warm` to load every model ahead of traffic. */
export interface InferenceService {
  fetch(request: CoreRequest, context?: RequestContext): Promise<Response>;
  /**
   * `fetch` without the last step: JSON answers (the hot route, errors, health, /_warm) may come back as a JsonReply, for
   * an adapter that writes bytes itself (the node server) to skip building a Response.
   */
  handle(request: CoreRequest, context?: RequestContext): Promise<RouteResult>;
  /** Loads and warms every model; resolves with each model's state. */
  warm(): ReturnType<ModelStore['loadAll']>;
  /** True once every model is loaded and passed its warmup inference. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
  readonly context: ServiceContext;
}

type Route = (request: CoreRequest, params: string[], service: ServiceContext, context: RequestContext) => Promise<RouteResult> | RouteResult;

interface RouteEntry {
  pattern: RegExp;
  methods: Partial<Record<string, Route>>;
  /** Counted against the client's rate limit (inference and the dashboard login); health and metadata are not. */
  rateLimited?: boolean;
}

const SEGMENT = '([^/]+)';
const VERSION = `(?:/versions/${SEGMENT})?`;

const ROUTES: RouteEntry[] = [
  { pattern: /^\/healthz$/, methods: { GET: () => new JsonReply({ status: 'ok' }) } },
  { pattern: /^\/_warm$/, methods: { GET: (req, _p, s) => handleWarm(req, s) } },
  { pattern: /^\/v1\/predict$/, rateLimited: true, methods: { POST: (req, _p, s, c) => (s.rollout ? s.rollout.serve(req, s, c, handlePredict) : handlePredict(req, s, c)) } },
  {
    pattern: /^\/v1\/cache$/,
    methods: {
      GET: (_r, _p, s) =>
        new JsonReply(s.caching ? { policy: s.caching.cache.policy.explain(), stats: s.caching.cache.stats(), l2: s.caching.cache.remote?.stats() ?? null } : { policy: null }),
    },
  },
  { pattern: /^\/v2$/, methods: { GET: (_r, _p, s) => serverMetadata(s) } },
  { pattern: /^\/v2\/health\/live$/, methods: { GET: () => new JsonReply({ live: true }) } },
  {
    pattern: /^\/v2\/health\/ready$/,
    methods: {
      GET: async (_r, _p, s) => {
        // Edge isolates load models lazily: a probe on a cold isolate loads them first (as the
        // first request would) instead of answering 503 for a service that can serve. Only a
        // model that failed to load leaves it not ready (503: a server fault, not bad input).
        await s.models.loadAll();
        if (await s.models.allReady()) return new JsonReply({ ready: true });
        const failed = [...(await s.models.catalog()).keys()].filter((name) => s.models.state(name)?.status !== 'ready');
        const message = failed.length ? `not ready: ${failed.join(', ')} failed to load` : 'not ready: no model in the repository';
        return new JsonReply({ ready: false, error: { code: 'model_not_ready', message } }, 503);
      },
    },
  },
  {
    pattern: new RegExp(`^/v2/models/${SEGMENT}${VERSION}$`),
    methods: { GET: (_r, [name, version], s) => modelMetadata(s, name as string, version) },
  },
  {
    pattern: new RegExp(`^/v2/models/${SEGMENT}${VERSION}/ready$`),
    methods: { GET: (_r, [name, version], s) => modelReady(s, name as string, version) },
  },
  {
    pattern: new RegExp(`^/v2/models/${SEGMENT}${VERSION}/infer$`),
    rateLimited: true,
    methods: { POST: (req, [name, version], s, c) => infer(req, s, name as string, version, c.body) },
  },
  ...TELEMETRY_ROUTES,
];

/** Builds the inference service for one isolate. */
export function createInferenceService(options: InferenceServiceOptions): InferenceService {
  const config: ServiceConfig = { ...DEFAULT_SERVICE_CONFIG, ...options.config };
  const models = new ModelStore({
    source: options.models,
    engines: options.engines,
    ortPreference: options.ortPreference,
    ...(options.features ? { features: options.features } : {}),
  });
  // Policy "off" means no cache at all: not even the input hash is computed per request.
  const latest = async (name: string) => (await models.catalog()).get(name);
  const caching = options.cache && options.cache.policy.mode !== 'off' ? new PredictionCaching(options.cache, options.models, latest, options.digest) : undefined;
  // Regional answers are checked against the requested model's model.json before they are cached or served (#17 item 5).
  const identify = caching?.identify ?? createModelIdentifier(options.models, latest);
  const checked = options.regional ? withCheckedAnswers(options.regional, identify) : undefined;
  const cached = caching && checked ? caching.wrapRegional(checked) : checked;
  // Outside the cache: the regional key is over the feature values a fields request forwards.
  const regional = cached && options.features ? withForwardedFeatures(cached, identify, options.features) : cached;
  const context = createServiceContext(config, models, new Cascade(config.cascade, regional), caching, options.features);
  // Every response and prediction is recorded synchronously, without I/O; flushes to Redis run after responses.
  if (options.telemetry !== false) context.telemetry = new Telemetry(options.telemetry);
  const telemetry = context.telemetry;
  if (options.rollout && Object.keys(options.rollout).length) context.rollout = new Rollout(options.rollout);
  if (options.rateLimit) context.rateLimit = options.rateLimit;
  const onInternalError = options.onInternalError ?? ((error: unknown) => console.error('edgeinfer: internal error', error));

  const cors = options.cors;

  async function handle(request: CoreRequest, requestContext: RequestContext = {}): Promise<RouteResult> {
    let response: RouteResult;
    let errorCode: string | undefined;
    // A preflight is answered before routing, rate limiting and reading any body.
    const preflight = cors ? corsPreflight(cors, request) : undefined;
    if (preflight) {
      telemetry?.recordResponse(preflight.status);
      return preflight;
    }
    try {
      response = await route(request, context, requestContext);
    } catch (error) {
      if (!(error instanceof HttpError)) onInternalError(error, request);
      errorCode = error instanceof HttpError ? error.code : 'internal_error';
      response = errorReply(error);
    }
    if (cors) annotateCors(cors, request, response);
    if (telemetry) {
      telemetry.recordResponse(response.status, errorCode);
      telemetry.afterResponse(requestContext.waitUntil);
    }
    return response;
  }

  return {
    fetch: async (request, requestContext) => toResponse(await handle(request, requestContext)),
    handle,
    // The Redis connection opens while models load: a cold first call would miss its budget.
    warm: async () => (await Promise.all([models.loadAll(), caching?.cache.remote?.warm()]))[0],
    ready: () => models.allReady(),
    close: () => models.close(),
    context,
  };
}

async function route(request: CoreRequest, service: ServiceContext, requestContext: RequestContext): Promise<RouteResult> {
  let pathname: string;
  try {
    pathname = new URL(request.url).pathname.replace(/\/+$/, '') || '/';
  } catch {
    throw new HttpError(400, 'invalid_request', 'the request URL is malformed');
  }
  for (const entry of ROUTES) {
    const match = entry.pattern.exec(pathname);
    if (!match) continue;
    // Own keys only: a method spelled "constructor" or "__proto__" is just not allowed.
    const handler = Object.hasOwn(entry.methods, request.method) ? entry.methods[request.method] : undefined;
    if (!handler) {
      const allowed = Object.keys(entry.methods).join(', ');
      throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${pathname}; use ${allowed}`, { allow: allowed });
    }
    const params = match.slice(1).map((segment) => (segment === undefined ? undefined : decodeSegment(segment)));
    // Before the body is read: a refused or truncated request costs no parsing.
    const gate = entry.rateLimited ? service.rateLimit : undefined;
    const verdict = gate?.check(request, requestContext);
    const limit = verdict instanceof Promise ? await verdict : verdict;
    if (limit && !limit.success) throw (gate as RateLimitGate).refusal(limit);
    if (requestContext.bodyTruncated && request.method !== 'GET') throw truncatedBody(requestContext.bodyTruncated);
    const response = await handler(request, params as string[], service, requestContext);
    return limit ? (gate as RateLimitGate).annotate(response, limit) : response;
  }
  throw new HttpError(404, 'not_found', `no route for ${pathname.slice(0, 200)}; try POST /v1/predict or GET /v2/health/ready`);
}

function truncatedBody({ limitBytes, hint }: NonNullable<RequestContext['bodyTruncated']>): HttpError {
  const size = limitBytes % 1024 === 0 ? `${limitBytes / 1024} KB` : `${limitBytes} bytes`;
  return new HttpError(413, 'payload_too_large', `request body exceeds the ${size} this endpoint receives (the platform truncated it); send a shorter text${hint ? `, ${hint}` : ''}`);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'invalid_request', 'a path segment is not valid percent-encoding');
  }
}
