// The multi-PoP warmer: calls GET /_warm on each endpoint (one per region or PoP hostname)
// with the admin token, and reports per endpoint whether the isolate that answered was cold
// (it loaded models for this call) or already warm, with the server's own step timings.
//
// A warm call warms the isolate of the one location that answered it: a provider routes
// each request to the location nearest the caller, and a client cannot choose it. Targets
// are therefore "location-pinned URLs": each names the location it is meant to reach
// (`fra=https://…`: a URL that resolves there, or the warmer run from there), and the report
// says which location answered (CloudFront's x-amz-cf-pop, the first hop of Vercel's
// x-vercel-id) and which function (Lambda@Edge's x-edgeinfer-function), so a miss shows.

/** One thing to warm: a location label, the base URL meant to reach it, and the function's warm path. */
export interface WarmTarget {
  location: string;
  base: string;
  /** Function name as reported (`default` unless the target has several). */
  function: string;
  path: string;
}

/** Warm paths of a provider's functions: Lambda@Edge's origin-request function has its own behaviour. */
export const WARM_FUNCTIONS: Record<string, Array<{ function: string; path: string }>> = {
  default: [{ function: 'default', path: '/_warm' }],
  'lambda-edge': [
    { function: 'viewer-request', path: '/_warm' },
    // adapters/lambda-edge ORIGIN_REQUEST_WARM_PATH (its own CloudFront behaviour in the template)
    { function: 'origin-request', path: '/_warm/origin-request' },
  ],
};

/** Parses `[location=]URL` entries (the command line's --url, or lines of a --urls file) into targets. */
export function parseTargets(entries: readonly string[], provider = 'default', describeEntry?: (index: number) => string): WarmTarget[] {
  const functions = WARM_FUNCTIONS[provider];
  if (!functions) throw new Error(`--provider must be one of ${Object.keys(WARM_FUNCTIONS).join(', ')}, got "${provider}"`);
  const targets: WarmTarget[] = [];
  entries.forEach((raw, i) => {
    const entry = raw.trim();
    if (!entry || entry.startsWith('#')) return;
    const eq = entry.indexOf('=');
    const labelled = eq > 0 && !entry.slice(0, eq).includes('/') && !entry.slice(0, eq).includes(':');
    const base = labelled ? entry.slice(eq + 1) : entry;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      url = new URL('invalid:');
    }
    // One line naming the entry and what it must be (new URL's own error says only "Invalid URL").
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`${describeEntry?.(i) ?? `entry ${i + 1}`}: ${JSON.stringify(entry.slice(0, 120))} is not [location=]http(s)://host/ (e.g. fra=https://edge.example.com)`);
    }
    const location = labelled ? entry.slice(0, eq) : url.host;
    for (const f of functions) targets.push({ location, base, function: f.function, path: f.path });
  });
  return targets;
}

/** The location that answered, from the provider's own headers (undefined when it names none). */
export function answeringLocation(headers: Headers): string | undefined {
  const pop = headers.get('x-amz-cf-pop');
  if (pop) return pop;
  const vercel = headers.get('x-vercel-id');
  if (vercel) return vercel.split('::')[0];
  return undefined;
}

/** One endpoint's answer to a warm call. */
export interface WarmResult {
  url: string;
  /** The location label the target named, and the function it warmed (when called with targets). */
  location?: string;
  function?: string;
  /** The location that answered (CloudFront x-amz-cf-pop / Vercel x-vercel-id), when the provider says. */
  answeredFrom?: string;
  status: number | 'error';
  /** The server's report said a model had to load: a cold isolate answered. */
  cold?: boolean;
  warmed?: boolean;
  /** Round trip measured here, milliseconds. */
  roundTripMs: number;
  /** The server's own total, milliseconds. */
  serverMs?: number;
  /** Step → milliseconds, from the server's report. */
  steps?: Record<string, number>;
  error?: string;
}

/** Counts of one round. */
export interface WarmSummary {
  cold: number;
  warm: number;
  failed: number;
}

/** Warm endpoint URL for a base URL (`https://x.example` → `https://x.example/_warm`). */
export function warmUrl(base: string, path = '/_warm'): string {
  const url = new URL(base);
  if (!url.pathname.endsWith(path)) url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return url.href;
}

/** Calls one endpoint; never rejects. */
export async function warmEndpoint(base: string | WarmTarget, token: string, options: { timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<WarmResult> {
  const target = typeof base === 'string' ? undefined : base;
  const url = target ? warmUrl(target.base, target.path) : warmUrl(base as string);
  const who = target ? { location: target.location, function: target.function } : {};
  const started = performance.now();
  try {
    const response = await (options.fetch ?? fetch)(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
    const text = await response.text();
    const roundTripMs = performance.now() - started;
    const answeredFrom = answeringLocation(response.headers);
    const answeredBy = response.headers.get('x-edgeinfer-function');
    const base_ = { ...who, ...(answeredFrom ? { answeredFrom } : {}), ...(answeredBy && target ? { function: answeredBy } : {}) };
    if (target && answeredBy && answeredBy !== target.function) {
      return { url, ...base_, status: response.status, roundTripMs, error: `answered by the ${answeredBy} function, not ${target.function}: check the distribution's behaviours` };
    }
    let body: { cold?: unknown; warmed?: unknown; totalMs?: unknown; steps?: unknown; error?: { code?: string; message?: string } } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      return { url, ...base_, status: response.status, roundTripMs, error: `not JSON: ${text.slice(0, 120)}` };
    }
    if (!response.ok) return { url, ...base_, status: response.status, roundTripMs, error: body?.error ? `${body.error.code}: ${body.error.message}` : text.slice(0, 200) };
    const steps = Array.isArray(body?.steps) ? Object.fromEntries((body.steps as Array<{ step: string; ms: number }>).map((s) => [s.step, s.ms])) : {};
    return {
      url,
      ...base_,
      status: response.status,
      cold: body?.cold === true,
      warmed: body?.warmed === true,
      roundTripMs,
      ...(typeof body?.totalMs === 'number' ? { serverMs: body.totalMs } : {}),
      steps,
    };
  } catch (error) {
    return { url, ...who, status: 'error', roundTripMs: performance.now() - started, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Warms every endpoint concurrently; `onResult` sees each answer as it arrives. */
export async function warmEndpoints(
  urls: readonly (string | WarmTarget)[],
  token: string,
  options: { timeoutMs?: number; fetch?: typeof fetch; onResult?: (result: WarmResult) => void } = {},
): Promise<{ results: WarmResult[]; summary: WarmSummary }> {
  const results = await Promise.all(
    urls.map(async (url) => {
      const result = await warmEndpoint(url, token, options);
      options.onResult?.(result);
      return result;
    }),
  );
  const summary: WarmSummary = { cold: 0, warm: 0, failed: 0 };
  for (const r of results) {
    if (r.error || r.warmed !== true) summary.failed++;
    else if (r.cold) summary.cold++;
    else summary.warm++;
  }
  return { results, summary };
}

/** Parses an interval like "30s", "5m", "1h" into milliseconds. */
export function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`--every takes a duration like 30s, 5m or 1h, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(match[1]) * unit;
  if (ms < 1000) throw new Error(`--every must be at least 1s, got "${text}"`);
  return ms;
}

/** Per location and function: how many rounds found it cold, warm, failed, and where it was answered from. */
export interface LocationReport {
  location: string;
  function: string;
  cold: number;
  warm: number;
  failed: number;
  answeredFrom: string[];
  lastError?: string;
}

/** Folds results (of one or more rounds) into one row per location × function. */
export function reportByLocation(results: readonly WarmResult[]): LocationReport[] {
  const rows = new Map<string, LocationReport>();
  for (const r of results) {
    const key = `${r.location ?? r.url}\u0000${r.function ?? 'default'}`;
    const row = rows.get(key) ?? { location: r.location ?? r.url, function: r.function ?? 'default', cold: 0, warm: 0, failed: 0, answeredFrom: [] };
    if (r.error || r.warmed !== true) {
      row.failed++;
      if (r.error) row.lastError = r.error;
    } else if (r.cold) row.cold++;
    else row.warm++;
    if (r.answeredFrom && !row.answeredFrom.includes(r.answeredFrom)) row.answeredFrom.push(r.answeredFrom);
    rows.set(key, row);
  }
  return [...rows.values()];
}
