// Entry point of the deployed regional function: `handler` for the Lambda Node.js
// runtime. Models are read from EDGEINFER_MODELS_DIR (default: the repository's models/
// folder; a deployment zip puts them beside the bundle and sets the variable), and the
// ones in EDGEINFER_PRELOAD (default spam-regional) load during the init phase.
import { DEFAULT_MODELS_ROOT, FsModelSource } from '../node/fs-model-source.ts';
import { createRegionalLambda } from './regional-handler.ts';
import type { LambdaHandler } from './lambda-types.ts';

const regional = createRegionalLambda({
  models: new FsModelSource(process.env.EDGEINFER_MODELS_DIR ?? DEFAULT_MODELS_ROOT),
  preload: (process.env.EDGEINFER_PRELOAD ?? 'spam-regional').split(',').map((s) => s.trim()).filter(Boolean),
});

/** The Lambda handler (configure the function's handler as `<file>.handler`). */
export const handler: LambdaHandler = regional.handler;
