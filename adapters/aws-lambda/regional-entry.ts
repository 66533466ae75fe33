// Entry point of the deployed regional function: `handler` for the Lambda Node.js
// runtime. Models are read from EDGEINFER_MODELS_DIR (default: the repository's models/
// folder; a deployment zip puts them beside the bundle and sets the variable), and the
// ones in EDGEINFER_PRELOAD (comma-separated; the regional build sets it to the models its zip
// carries) load during the init phase; others load on their first request. Feature views
// the edge did not forward are read from Upstash when UPSTASH_REDIS_REST_URL/_TOKEN are set.
import { DEFAULT_MODELS_ROOT, FsModelSource } from '../node/fs-model-source.ts';
import { createRegionalLambda, regionalFeaturesFromEnv } from './regional-handler.ts';
import type { LambdaHandler } from './lambda-types.ts';

const regional = createRegionalLambda({
  models: new FsModelSource(process.env.EDGEINFER_MODELS_DIR ?? DEFAULT_MODELS_ROOT),
  preload: (process.env.EDGEINFER_PRELOAD ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  features: regionalFeaturesFromEnv(process.env),
});

/** The Lambda handler (configure the function's handler as `<file>.handler`). */
export const handler: LambdaHandler = regional.handler;
