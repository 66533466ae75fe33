// The telemetry routes' table in the handler's shape (pattern → method → handler). The handlers
// live in ./routes.ts, with the Prometheus renderer, the dashboard and its auth (~25 KB minified),
// and are imported on the first telemetry request: a bundle evaluates none of that at start, and
// a first POST /v1/predict never pays for it (#18). esbuild without code splitting inlines the
// dynamic import as a lazily initialised module in the same file.
import type { CoreRequest } from '../http/core-request.ts';
import type { RequestContext } from '../handler.ts';
import type { ServiceContext } from '../service-context.ts';

type TelemetryRoute = (request: CoreRequest, params: string[], service: ServiceContext, context: RequestContext) => Promise<Response>;

const routes = () => import('./routes.ts');

export const TELEMETRY_ROUTES: Array<{ pattern: RegExp; methods: Partial<Record<string, TelemetryRoute>>; rateLimited?: boolean }> = [
  { pattern: /^\/metrics$/, methods: { GET: async (req, _p, s) => (await routes()).metrics(req, s) } },
  { pattern: /^\/dashboard$/, methods: { GET: async (req, _p, s, c) => (await routes()).dashboard(req, s, c, 'html') } },
  { pattern: /^\/dashboard\/data$/, methods: { GET: async (req, _p, s, c) => (await routes()).dashboard(req, s, c, 'json') } },
  // Counted against the client's rate limit: it is the one place a token can be guessed by form.
  { pattern: /^\/dashboard\/login$/, rateLimited: true, methods: { POST: async (req, _p, s, c) => (await routes()).login(req, s, c) } },
];
