// The telemetry routes: GET /metrics (Prometheus text; ?scope=fleet merges every isolate
// that flushed to Redis), GET /dashboard (HTML) and /dashboard/data (its numbers as JSON),
// POST /dashboard/login (the form that sets the session cookie). See admin-auth.ts for who
// may read them.
import type { CoreRequest } from '../http/core-request.ts';
import type { RequestContext } from '../handler.ts';
import { readBodyBytes } from '../http/body.ts';
import { HttpError, jsonResponse } from '../http/errors.ts';
import type { ServiceContext } from '../service-context.ts';
import { authorizeMetrics, constantTimeEqual, crossSiteProblem, DASHBOARD_COOKIE, dashboardAccess, DashboardSessions, SESSION_TTL_SECONDS } from './admin-auth.ts';
import { dashboardData } from './dashboard-data.ts';
import { renderDashboard } from './dashboard-html.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.ts';
import type { Telemetry } from './telemetry.ts';
import { seriesKey } from './metrics-window.ts';

type TelemetryRoute = (request: CoreRequest, params: string[], service: ServiceContext, context: RequestContext) => Promise<Response>;

/** Route entries in the handler's shape (pattern → method → handler). */
export const TELEMETRY_ROUTES: Array<{ pattern: RegExp; methods: Partial<Record<string, TelemetryRoute>>; rateLimited?: boolean }> = [
  { pattern: /^\/metrics$/, methods: { GET: (req, _p, s) => metrics(req, s) } },
  { pattern: /^\/dashboard$/, methods: { GET: (req, _p, s, c) => dashboard(req, s, c, 'html') } },
  { pattern: /^\/dashboard\/data$/, methods: { GET: (req, _p, s, c) => dashboard(req, s, c, 'json') } },
  // Counted against the client's rate limit: it is the one place a token can be guessed by form.
  { pattern: /^\/dashboard\/login$/, rateLimited: true, methods: { POST: (req, _p, s, c) => login(req, s, c) } },
];

// One signer per service (its key is drawn on first use when none is configured).
const sessionsByService = new WeakMap<ServiceContext, DashboardSessions>();
function sessionsOf(service: ServiceContext): DashboardSessions {
  let sessions = sessionsByService.get(service);
  if (!sessions) sessionsByService.set(service, (sessions = new DashboardSessions(service.config.sessionKey)));
  return sessions;
}

function requireTelemetry(service: ServiceContext): Telemetry {
  if (!service.telemetry) throw new HttpError(404, 'not_found', 'telemetry is disabled on this service (telemetry: false)');
  return service.telemetry;
}

async function snapshotFor(request: CoreRequest, telemetry: Telemetry, fleetByDefault: boolean) {
  const scope = new URL(request.url).searchParams.get('scope');
  if (scope !== null && scope !== 'fleet' && scope !== 'isolate') throw new HttpError(400, 'invalid_request', 'scope must be "fleet" or "isolate"');
  const fleet = scope === 'fleet' || (scope === null && fleetByDefault);
  return fleet ? telemetry.fleetSnapshot() : { ...telemetry.snapshot(), scope: 'isolate' as const, isolates: 1 };
}

/** The rate-limit gate's decisions, when the service limits clients: allowed, refused, and let through because the store could not decide (fail open). */
function rateLimitCounters(service: ServiceContext): string[] {
  const counts = service.rateLimit?.counts;
  if (!counts) return [];
  const failOpen = Object.entries(counts.failOpen).map(([why, n]) => `edgeinfer_rate_limit_decisions_total{outcome="fail_open_${why}"} ${n}`);
  return [
    '# HELP edgeinfer_rate_limit_decisions_total Rate-limit checks of this isolate by outcome (fail_open_*: the fleet-wide count could not decide in time; the local floor allowed the request).',
    '# TYPE edgeinfer_rate_limit_decisions_total counter',
    `edgeinfer_rate_limit_decisions_total{outcome="allowed"} ${counts.allowed}`,
    `edgeinfer_rate_limit_decisions_total{outcome="refused"} ${counts.refused}`,
    ...failOpen,
  ];
}

/** Feature-view reads of this isolate: values by source (absent entities are the defaults), requests served from defaults because Redis was slow or down, round trips. */
function featureCounters(service: ServiceContext): string[] {
  const stats = service.features?.stats?.();
  if (!stats) return [];
  return [
    '# HELP edgeinfer_feature_values_total Feature-view values assembled by where they came from (default: absent entity, missing entity field, invalid value or Redis unavailable).',
    '# TYPE edgeinfer_feature_values_total counter',
    `edgeinfer_feature_values_total{source="l1"} ${stats.fromL1}`,
    `edgeinfer_feature_values_total{source="l2"} ${stats.fromL2}`,
    `edgeinfer_feature_values_total{source="default"} ${stats.defaults}`,
    '# HELP edgeinfer_feature_absent_entities_total Entities looked up and absent from the feature store (their declared defaults were used).',
    '# TYPE edgeinfer_feature_absent_entities_total counter',
    `edgeinfer_feature_absent_entities_total ${stats.absentEntities}`,
    '# HELP edgeinfer_feature_missing_entity_fields_total Views whose entity field the request did not carry.',
    '# TYPE edgeinfer_feature_missing_entity_fields_total counter',
    `edgeinfer_feature_missing_entity_fields_total ${stats.missingEntityFields}`,
    '# HELP edgeinfer_feature_unavailable_total Assemblies answered from defaults because Redis was slow, down or not configured.',
    '# TYPE edgeinfer_feature_unavailable_total counter',
    `edgeinfer_feature_unavailable_total ${stats.unavailable}`,
    '# HELP edgeinfer_feature_round_trips_total Round trips to the feature store (at most one per request).',
    '# TYPE edgeinfer_feature_round_trips_total counter',
    `edgeinfer_feature_round_trips_total ${stats.roundTrips}`,
  ];
}

/** Cached values refused on read (#17 item 3): each was served as a miss, never as an answer. */
function cacheCorruptCounters(service: ServiceContext): string[] {
  const stats = service.caching?.cache.stats();
  if (!stats) return [];
  return [
    '# HELP edgeinfer_cache_corrupt_total Values read from L2 (source="l2") or by the warmer (source="warm") that failed their check (shape, model version, labels): treated as misses.',
    '# TYPE edgeinfer_cache_corrupt_total counter',
    `edgeinfer_cache_corrupt_total{source="l2"} ${stats.l2Corrupt}`,
    `edgeinfer_cache_corrupt_total{source="warm"} ${stats.primeRejected}`,
  ];
}

async function metrics(request: CoreRequest, service: ServiceContext): Promise<Response> {
  authorizeMetrics(request, service.config.adminToken);
  const telemetry = requireTelemetry(service);
  // A scrape target is one isolate (monotonic counters); ?scope=fleet gives the merged view of the retained windows.
  const snapshot = await snapshotFor(request, telemetry, false);
  const extra = [
    '# HELP edgeinfer_in_flight Requests in flight in this isolate.',
    '# TYPE edgeinfer_in_flight gauge',
    `edgeinfer_in_flight ${service.cascade.inFlight.current}`,
    '# HELP edgeinfer_telemetry_flush_failures_total Flushes of metrics to the fleet store that failed.',
    '# TYPE edgeinfer_telemetry_flush_failures_total counter',
    `edgeinfer_telemetry_flush_failures_total ${telemetry.flushFailures}`,
    '# HELP edgeinfer_telemetry_fleet_entries_skipped_total Fleet-store entries skipped when reading the fleet (malformed, oversized, forged).',
    '# TYPE edgeinfer_telemetry_fleet_entries_skipped_total counter',
    `edgeinfer_telemetry_fleet_entries_skipped_total ${telemetry.fleetEntriesSkipped}`,
    '# HELP edgeinfer_telemetry_label_overflows_total Label values recorded as "(other)": past their series bounds (e.g. 64 labels per model version) or longer than 128 characters.',
    '# TYPE edgeinfer_telemetry_label_overflows_total counter',
    `edgeinfer_telemetry_label_overflows_total ${telemetry.labelOverflows()}`,
    '# HELP edgeinfer_telemetry_otlp_push_failures_total Pushes to the OTLP collector that failed.',
    '# TYPE edgeinfer_telemetry_otlp_push_failures_total counter',
    `edgeinfer_telemetry_otlp_push_failures_total ${telemetry.pushFailures}`,
    '# HELP edgeinfer_telemetry_isolates Isolates whose metrics this exposition merges.',
    '# TYPE edgeinfer_telemetry_isolates gauge',
    `edgeinfer_telemetry_isolates ${snapshot.isolates}`,
    ...cacheCorruptCounters(service),
    ...rolloutGauges(service),
    ...rateLimitCounters(service),
    ...featureCounters(service),
  ];
  return new Response(renderPrometheus(snapshot.total, extra), { headers: { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' } });
}

/** Weights and canary states of this isolate's rollouts. */
function rolloutGauges(service: ServiceContext): string[] {
  const status = service.rollout?.status() ?? [];
  if (status.length === 0) return [];
  const lines = ['# HELP edgeinfer_rollout_weight Share of traffic each model version gets in this isolate.', '# TYPE edgeinfer_rollout_weight gauge'];
  for (const s of status) {
    const total = Object.values(s.weights).reduce((a, b) => a + b, 0) || 1;
    for (const [version, weight] of Object.entries(s.weights)) lines.push(`${seriesKey('edgeinfer_rollout_weight', { model: s.model, version })} ${weight / total}`);
  }
  const canaries = status.filter((s) => s.canary);
  if (canaries.length) {
    lines.push('# HELP edgeinfer_rollout_canary_state Canary state per model version (1 for the current state).', '# TYPE edgeinfer_rollout_canary_state gauge');
    for (const s of canaries) {
      for (const state of ['running', 'held', 'rolled_back', 'promoted']) {
        lines.push(`${seriesKey('edgeinfer_rollout_canary_state', { model: s.model, version: s.canary?.version as string, state })} ${s.canary?.state === state ? 1 : 0}`);
      }
    }
  }
  return lines;
}

async function dashboard(request: CoreRequest, service: ServiceContext, context: RequestContext, format: 'html' | 'json'): Promise<Response> {
  const telemetry = requireTelemetry(service);
  const access = await dashboardAccess(request, service.config.adminToken, context.peerAddress, sessionsOf(service));
  if (!access.ok) {
    if (format === 'json' || !access.loginForm) throw new HttpError(access.status, access.status === 401 ? 'unauthorized' : 'forbidden', access.message);
    return html(loginPage(access.message), access.status);
  }
  const snapshot = await snapshotFor(request, telemetry, true);
  const data = dashboardData(snapshot, telemetry.windowMs, service.rollout?.status() ?? []);
  return format === 'json' ? jsonResponse(data) : html(renderDashboard(data));
}

async function login(request: CoreRequest, service: ServiceContext, context: RequestContext): Promise<Response> {
  const token = service.config.adminToken;
  if (!token) {
    throw new HttpError(404, 'not_found', 'no admin token is configured (EDGEINFER_ADMIN_TOKEN), so there is nothing to sign in with; the dashboard is served on loopback');
  }
  const crossSite = crossSiteProblem(request);
  if (crossSite) throw new HttpError(403, 'forbidden', crossSite);
  const type = request.headers.get('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new HttpError(415, 'unsupported_media_type', 'POST /dashboard/login takes a form (application/x-www-form-urlencoded) with a "token" field');
  }
  const body = new TextDecoder().decode(await readBodyBytes(request, 4096, context.body));
  const given = new URLSearchParams(body).get('token') ?? '';
  if (!constantTimeEqual(given, token)) return html(loginPage('that token does not match EDGEINFER_ADMIN_TOKEN'), 403);
  // The transport the adapter saw (TLS on the socket); the request target's scheme is the client's to choose.
  // Adapters that report none (edge platforms, which terminate TLS themselves) give the URL the platform built.
  const secure = (context.secureTransport ?? new URL(request.url).protocol === 'https:') ? '; Secure' : '';
  return new Response(null, {
    status: 303,
    headers: {
      location: '/dashboard',
      'set-cookie': `${DASHBOARD_COOKIE}=${await sessionsOf(service).issue()}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=${SESSION_TTL_SECONDS}${secure}`,
      'cache-control': 'no-store',
    },
  });
}

function html(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Nothing external, no script: the page needs inline styles and nothing else.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
    },
  });
}

function loginPage(message: string): string {
  const esc = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edgeinfer dashboard: sign in</title>
<style>body{font:14px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;background:#f8fafc}form{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:20px;display:grid;gap:10px;min-width:300px}p{color:#b45309;margin:0}</style></head>
<body><form method="post" action="/dashboard/login"><h1 style="font-size:18px;margin:0">edgeinfer dashboard</h1><p id="message">${esc}</p>
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label><button type="submit">Sign in</button></form></body></html>`;
}
