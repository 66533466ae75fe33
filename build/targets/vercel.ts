// Vercel Edge target: Build Output API v3 (https://vercel.com/docs/build-output-api/v3).
// .vercel/output/config.json (routes to one edge function, a cron on /_warm) and
// functions/edgeinfer.func/{index.js, .vc-config.json (runtime "edge")}. The micro engine by
// default; `--engines micro,ort-web` adds ORT with its WASM as a `?module` import, since
// Vercel refuses to compile WASM from bytes (fits the Enterprise tier only).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildTarget, FunctionSpec } from '../pipeline.ts';
import { checkVercelCron, parseVercelRegions, VERCEL_PLANS, type VercelTier } from './vercel-plans.ts';
import { modelsForBuild } from '../model-tools/build-models.ts';
import { EDGE_ENV_VARS } from '../../adapters/edge/edge-service.ts';
import { readOrtWasmBinary } from '../../adapters/node/ort-wasm-binary.ts';
import { ORT_WEB_WASM_FILE } from '../../core/engine/ort-web/ort-web-engine.ts';

const FUNCTION = 'edgeinfer';
/** Every route the core serves goes to the one function (the admin routes included: they check the token themselves). */
export const VERCEL_ROUTE_SOURCE = '^/(v1/.*|v2(?:/.*)?|healthz|_warm|metrics|dashboard(?:/.*)?)$';
// Body limit: the core's default (64 KB) unless EDGEINFER_MAX_BODY_BYTES is set. Vercel itself
// refuses bodies over 4.5 MB (its functions' request body limit), far above what a text
// classifier needs; the smaller limit keeps parsing within the edge's CPU time.
/** Warmer schedule of a tier (Vercel crons call GET with `Authorization: Bearer $CRON_SECRET`); Hobby allows daily crons only. */
export function vercelWarmSchedule(tier: string): string {
  return VERCEL_PLANS[tier as VercelTier]?.warmSchedule ?? VERCEL_PLANS.hobby.warmSchedule;
}

export const vercelTarget: BuildTarget = {
  name: 'vercel',
  defaultOut: '.vercel/output',
  tiers: ['hobby', 'pro', 'enterprise'],
  defaultTier: 'hobby',
  functions: (options) => {
    const engines = options.engines ?? ['micro'];
    const ort = engines.includes('ort-web');
    const spec: FunctionSpec = {
      name: FUNCTION,
      file: 'index.js',
      models: modelsForBuild(options, 'edge'),
      engines,
      budget: 'vercel',
      ...(ort ? { external: [`./${ORT_WEB_WASM_FILE}?module`], extraFiles: async () => ({ [ORT_WEB_WASM_FILE]: await readOrtWasmBinary() }) } : {}),
      entry: (i) => `
import { createEdgeService } from ${i.repo('adapters/edge/edge-service.ts')};
import { createVercelEdgeHandler, vercelAdminToken, vercelEnv } from ${i.repo('adapters/vercel-edge/vercel-edge.ts')};
import { files } from ${i.models};
import { microModules, microCompileFailures } from ${i.micro};
${ort ? `import wasmModule from './${ORT_WEB_WASM_FILE}?module';\nimport { createOrtWebEngine } from ${i.repo('core/engine/ort-web/ort-web-engine.ts')};` : ''}
const env = vercelEnv();
// Vercel's cron sends CRON_SECRET as the bearer token: /_warm accepts it beside EDGEINFER_ADMIN_TOKEN.
const tokens = { adminToken: env.EDGEINFER_ADMIN_TOKEN, cronSecret: env.CRON_SECRET };
const service = createEdgeService({
  files, microModules, microCompileFailures,
  ${ort ? 'ortWeb: () => createOrtWebEngine({ wasmModule }),' : ''}
  env: { ...env, EDGEINFER_ADMIN_TOKEN: vercelAdminToken(tokens) },
});
export default createVercelEdgeHandler(service, tokens);
`,
    };
    return [spec];
  },
  async write(outDir, built, options) {
    const fn = built[0]!;
    const tier = (options.tier in VERCEL_PLANS ? options.tier : 'hobby') as VercelTier;
    const schedule = vercelWarmSchedule(tier);
    checkVercelCron(tier, schedule);
    // EDGEINFER_VERCEL_REGIONS=fra1,iad1 pins the function to those regions (default: all, nearest the viewer).
    const regions = parseVercelRegions(process.env.EDGEINFER_VERCEL_REGIONS);
    const funcDir = join(outDir, 'functions', `${FUNCTION}.func`);
    await mkdir(funcDir, { recursive: true });
    for (const [name, bytes] of Object.entries(fn.files)) await writeFile(join(funcDir, name), bytes);
    await writeFile(join(funcDir, '.vc-config.json'), `${JSON.stringify({ runtime: 'edge', entrypoint: fn.spec.file, envVarsInUse: ['CRON_SECRET', ...EDGE_ENV_VARS], ...(regions ? { regions } : {}) }, null, 2)}\n`);
    const config = {
      version: 3,
      routes: [{ src: VERCEL_ROUTE_SOURCE, dest: `/${FUNCTION}` }],
      crons: [{ path: '/_warm', schedule }],
    };
    await writeFile(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    return ['config.json', ...Object.keys(fn.files).map((f) => `functions/${FUNCTION}.func/${f}`), `functions/${FUNCTION}.func/.vc-config.json`];
  },
  // Only tiers larger than the one chosen are suggested (an Enterprise build is told what else to change).
  advice: (fn, tier) => {
    const larger = tier === 'hobby' ? 'a larger --tier (pro 2 MB, enterprise 4 MB)' : tier === 'pro' ? '--tier enterprise (4 MB)' : undefined;
    if (fn.engines.includes('ort-web')) {
      const ort = 'the ORT WASM runtime alone is 3.7 MB gzip: build with the micro engine only (drop --engines ort-web; models need engine "auto" or "micro")';
      return tier === 'enterprise' ? `${ort}, or embed fewer or smaller models beside it (--models), or serve the large ones from the regional function` : `${ort}, or choose --tier enterprise (4 MB)`;
    }
    return `embed fewer or smaller models (quantize to int8, --models)${larger ? `, or choose ${larger}` : ', or serve the large ones from the regional function'}`;
  },
};
