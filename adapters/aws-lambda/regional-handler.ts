// The regional AWS Lambda function (Node.js 20/22 runtime): runs the large model with
// onnxruntime-node for escalations from the edge. Payload and answer are the
// RegionalRequest / RegionalPrediction of core/router/regional-tier.ts. A bad payload or
// a model that cannot serve is a function error with a named errorType (Lambda reports
// a rejected promise as {errorType: error.name, errorMessage}), never a crash.
// AWS Lambda has no GPU: the CUDA execution provider is asked for only where the host
// shows an NVIDIA device, and the answer reports the provider that actually ran.
import { existsSync } from 'node:fs';
import { EngineRegistry } from '../../core/engine/registry.ts';
import { createOrtNodeEngine, type OrtNodeEngine, type OrtNodeExecutionProvider } from '../../core/engine/ort-node/ort-node-engine.ts';
import type { ModelSource } from '../../core/model/repository.ts';
import { createUpstashRemoteCache, DEFAULT_REDIS_BUDGET_MS } from '../../core/cache/remote-cache.ts';
import { createFeatureAssembler, type FeatureAssembler } from '../../core/features/feature-assembler.ts';
import { embeddedFeatureRepository } from '../../features/embedded.ts';
import { createRegionalPredictor, RegionalFunctionError, type RegionalPredictor } from '../../core/regional/regional-predictor.ts';
import type { LambdaContext, LambdaHandler } from './lambda-types.ts';

/** Options of the regional function. */
export interface RegionalLambdaOptions {
  models: ModelSource;
  /** Providers in order of preference; default: cuda then cpu when a GPU is visible, else cpu. */
  executionProviders?: OrtNodeExecutionProvider[];
  /** Models loaded during the init phase (Lambda gives init a full CPU burst). */
  preload?: string[];
  /** The function's own feature source (see {@link regionalFeaturesFromEnv}); without one, feature values the edge did not forward take their defaults. */
  features?: FeatureAssembler;
}

/**
 * The function's feature views (the bundled declarations of features/, the ones the edge
 * reads) over its own Upstash: UPSTASH_REDIS_REST_URL and _TOKEN, as the edge reads them,
 * EDGEINFER_CACHE_BUDGET_MS its time budget. Without them, values the edge did not forward
 * take the views' declared defaults and answers are marked degraded.
 */
export function regionalFeaturesFromEnv(env: Record<string, string | undefined>): FeatureAssembler {
  const repository = embeddedFeatureRepository();
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) return createFeatureAssembler({ repository });
  const budget = Number(env.EDGEINFER_CACHE_BUDGET_MS ?? DEFAULT_REDIS_BUDGET_MS);
  if (!(budget >= 1)) throw new Error(`EDGEINFER_CACHE_BUDGET_MS must be a number ≥ 1, got "${env.EDGEINFER_CACHE_BUDGET_MS}"`);
  return createFeatureAssembler({ repository, remote: createUpstashRemoteCache({ url, token, budgetMs: budget }) });
}

/** True when the host exposes an NVIDIA GPU (never the case on AWS Lambda). */
export function hostHasCudaDevice(): boolean {
  return existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
}

/** Execution providers from EDGEINFER_EXECUTION_PROVIDERS ("cuda,cpu"), else from the host. */
export function executionProvidersFor(env: Record<string, string | undefined>, hasCuda = hostHasCudaDevice()): OrtNodeExecutionProvider[] {
  const listed = env.EDGEINFER_EXECUTION_PROVIDERS?.split(',').map((p) => p.trim()).filter(Boolean);
  if (listed?.length) {
    const bad = listed.filter((p) => p !== 'cuda' && p !== 'cpu');
    if (bad.length) throw new Error(`EDGEINFER_EXECUTION_PROVIDERS: unknown provider(s) ${bad.join(', ')}; use cuda and/or cpu`);
    return listed as OrtNodeExecutionProvider[];
  }
  return hasCuda ? ['cuda', 'cpu'] : ['cpu'];
}

/** A regional handler plus the predictor behind it (for the in-process tier and tests). */
export interface RegionalLambda {
  handler: LambdaHandler;
  predictor: RegionalPredictor;
  engines: EngineRegistry;
}

/** Builds the regional function over a model repository. Models load once per container. */
export function createRegionalLambda(options: RegionalLambdaOptions): RegionalLambda {
  const engines = new EngineRegistry();
  const executionProviders = options.executionProviders ?? executionProvidersFor(process.env);
  engines.register('ort-node', () => createOrtNodeEngine({ executionProviders }));
  const predictor = createRegionalPredictor({
    models: options.models,
    engines,
    ortPreference: ['ort-node'],
    // One engine instance serves the container; its provider is the one the last load got.
    executionProviderOf: async () => ((await engines.get('ort-node')) as OrtNodeEngine).executionProvider ?? 'unknown',
    ...(options.preload ? { preload: options.preload } : {}),
    ...(options.features ? { features: options.features } : {}),
  });

  const handler: LambdaHandler = async (event: unknown, context: LambdaContext) => {
    try {
      // Never work past the function's own timeout either.
      if (isObject(event) && typeof event.deadlineMs === 'number' && context?.getRemainingTimeInMillis) {
        event = { ...event, deadlineMs: Math.min(event.deadlineMs, Date.now() + context.getRemainingTimeInMillis()) };
      }
      return await predictor.predict(event);
    } catch (error) {
      if (error instanceof RegionalFunctionError) throw error;
      // Anything else is a bug; still a named function error, with the cause in the log.
      console.error('edgeinfer regional: unexpected error', error);
      throw new RegionalFunctionError('InferenceFailed', `unexpected: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return { handler, predictor, engines };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
