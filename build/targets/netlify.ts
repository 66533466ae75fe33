// Netlify Edge target (Deno), in the Frameworks API layout
// (https://docs.netlify.com/build/frameworks/frameworks-api/): .netlify/v1/edge-functions/
// edgeinfer.js with an in-source `config` (paths, methods, onError), which Netlify's
// edge-bundler reads at deploy, plus a scheduled serverless function that pings /_warm.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildTarget } from '../pipeline.ts';
import { modelsForBuild } from '../model-tools/build-models.ts';

/**
 * The publish directory `deploy:netlify` passes as --dir, relative to the folder holding
 * .netlify (the build writes it beside .netlify/v1). One page and nothing else: `netlify deploy`
 * without a publish directory publishes the base directory (the repository, dist/ included,
 * where a Lambda@Edge build holds its baked secrets). https://cli.netlify.com/commands/deploy/
 */
export const NETLIFY_PUBLISH_DIR = '.netlify/edgeinfer-publish';
const PUBLISH_PAGE = '<!doctype html><meta charset="utf-8"><title>edgeinfer</title><p>edgeinfer: POST /v1/predict, GET /healthz.</p>\n';

/** Paths the edge function serves (URLPattern syntax). */
export const NETLIFY_PATHS = ['/v1/*', '/v2', '/v2/*', '/healthz', '/_warm', '/metrics', '/dashboard', '/dashboard/*'];
// Body limit: the core's default (64 KB) unless EDGEINFER_MAX_BODY_BYTES is set. Netlify
// documents no request body limit for edge functions; what binds is 50 ms of CPU per request,
// and parsing stays well inside it at 64 KB.

const WARM_FUNCTION = `// Netlify scheduled function: keeps the edge function's isolates warm by calling /_warm.
export default async () => {
  const token = process.env.EDGEINFER_ADMIN_TOKEN;
  const base = process.env.URL;
  if (!token || !base) return new Response('EDGEINFER_ADMIN_TOKEN and URL are needed', { status: 500 });
  const response = await fetch(new URL('/_warm', base), { headers: { authorization: \`Bearer \${token}\` } });
  return new Response(await response.text(), { status: response.status });
};
export const config = { schedule: '*/5 * * * *' };
`;

export const netlifyTarget: BuildTarget = {
  name: 'netlify',
  defaultOut: '.netlify/v1',
  tiers: ['default'],
  defaultTier: 'default',
  functions: (options) => {
    if (options.engines?.includes('ort-web')) {
      // A cold ORT isolate spends several times Netlify's 50 ms CPU budget (shared/DESIGN.md).
      throw new Error('Netlify builds carry the micro engine only (ORT\'s cold start is several times the 50 ms CPU budget of a request); drop --engines');
    }
    return [
    {
      name: 'edgeinfer',
      file: 'edgeinfer.js',
      models: modelsForBuild(options, 'edge'),
      engines: ['micro'],
      budget: 'netlify',
      // "50 ms CPU per request" (Netlify edge function limits, shared/DESIGN.md).
      cpuBudgetMs: 50,
      entry: (i) => `
import { createEdgeService } from ${i.repo('adapters/edge/edge-service.ts')};
import { createNetlifyEdgeHandler, netlifyEnv } from ${i.repo('adapters/netlify-edge/netlify-edge.ts')};
import { files } from ${i.models};
import { microModules, microCompileFailures } from ${i.micro};
const service = createEdgeService({ files, microModules, microCompileFailures, env: netlifyEnv() });
export default createNetlifyEdgeHandler(service);
export const config = { path: ${JSON.stringify(NETLIFY_PATHS)}, method: ['GET', 'POST'], onError: 'fail', name: 'edgeinfer' };
`,
    },
    ];
  },
  async write(outDir, built) {
    const fn = built[0]!;
    await mkdir(join(outDir, 'edge-functions'), { recursive: true });
    await mkdir(join(outDir, 'functions'), { recursive: true });
    for (const [name, bytes] of Object.entries(fn.files)) await writeFile(join(outDir, 'edge-functions', name), bytes);
    await writeFile(join(outDir, 'functions', 'edgeinfer-warm.mjs'), WARM_FUNCTION);
    const publish = join(outDir, '..', NETLIFY_PUBLISH_DIR.split('/').pop()!);
    await mkdir(publish, { recursive: true });
    await writeFile(join(publish, 'index.html'), PUBLISH_PAGE);
    return [...Object.keys(fn.files).map((f) => `edge-functions/${f}`), 'functions/edgeinfer-warm.mjs', `../${NETLIFY_PUBLISH_DIR.split('/').pop()}/index.html`];
  },
  advice: () => 'embed fewer or smaller models (Netlify allows 20 MB compressed per deploy)',
};
