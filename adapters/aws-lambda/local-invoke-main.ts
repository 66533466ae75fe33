// `npm run lambda:local`: the regional function behind a local Invoke API, for the real
// AWS SDK. Settings from the environment:
//   LAMBDA_LOCAL_PORT (9001), LAMBDA_LOCAL_HOST (127.0.0.1),
//   LAMBDA_FUNCTION_NAME (edgeinfer-regional), EDGEINFER_MODELS_DIR (models/),
//   LAMBDA_LOCAL_TIMEOUT_MS (30000: the function timeout, past it Sandbox.Timedout),
//   UPSTASH_REDIS_REST_URL/_TOKEN (the function's feature source, e.g. `npm run redis:rest`),
//   knobs: LAMBDA_LOCAL_DELAY_MS, LAMBDA_LOCAL_FUNCTION_ERROR=1, LAMBDA_LOCAL_THROTTLE=1
//   (per request: X-Edgeinfer-Test-Delay-Ms / -Function-Error / -Throttle headers).
import { DEFAULT_MODELS_ROOT, FsModelSource } from '../node/fs-model-source.ts';
import { knobsFromEnv, startLocalInvokeServer, timeoutFromEnv } from './local-invoke-server.ts';
import { createRegionalLambda, regionalFeaturesFromEnv } from './regional-handler.ts';

const env = process.env;
const functionName = env.LAMBDA_FUNCTION_NAME ?? 'edgeinfer-regional';
const regional = createRegionalLambda({
  models: new FsModelSource(env.EDGEINFER_MODELS_DIR ?? DEFAULT_MODELS_ROOT),
  preload: (env.EDGEINFER_PRELOAD ?? '').split(',').filter(Boolean),
  features: regionalFeaturesFromEnv(env),
});
const server = await startLocalInvokeServer(
  { functions: { [functionName]: regional.handler }, knobs: knobsFromEnv(env), timeoutMs: timeoutFromEnv(env) },
  Number(env.LAMBDA_LOCAL_PORT ?? 9001),
  env.LAMBDA_LOCAL_HOST ?? '127.0.0.1',
);
console.log(`local Invoke API on ${server.url}: POST /2015-03-31/functions/${functionName}/invocations`);
console.log(`knobs: ${JSON.stringify(server.knobs)}`);

const stop = async () => {
  await server.close();
  await regional.predictor.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
