// The multi-PoP warmer: calls GET /_warm on each endpoint (one per region or PoP hostname)
// with the admin token, and reports per endpoint whether the isolate that answered was cold
// (it loaded models for this call) or already warm, with the server's own step timings.

/** One endpoint's answer to a warm call. */
export interface WarmResult {
  url: string;
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
export function warmUrl(base: string): string {
  const url = new URL(base);
  if (!url.pathname.endsWith('/_warm')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/_warm`;
  return url.href;
}

/** Calls one endpoint; never rejects. */
export async function warmEndpoint(base: string, token: string, options: { timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<WarmResult> {
  const url = warmUrl(base);
  const started = performance.now();
  try {
    const response = await (options.fetch ?? fetch)(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
    const text = await response.text();
    const roundTripMs = performance.now() - started;
    let body: { cold?: unknown; warmed?: unknown; totalMs?: unknown; steps?: unknown; error?: { code?: string; message?: string } } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      return { url, status: response.status, roundTripMs, error: `not JSON: ${text.slice(0, 120)}` };
    }
    if (!response.ok) return { url, status: response.status, roundTripMs, error: body?.error ? `${body.error.code}: ${body.error.message}` : text.slice(0, 200) };
    const steps = Array.isArray(body?.steps) ? Object.fromEntries((body.steps as Array<{ step: string; ms: number }>).map((s) => [s.step, s.ms])) : {};
    return {
      url,
      status: response.status,
      cold: body?.cold === true,
      warmed: body?.warmed === true,
      roundTripMs,
      ...(typeof body?.totalMs === 'number' ? { serverMs: body.totalMs } : {}),
      steps,
    };
  } catch (error) {
    return { url, status: 'error', roundTripMs: performance.now() - started, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Warms every endpoint concurrently; `onResult` sees each answer as it arrives. */
export async function warmEndpoints(
  urls: readonly string[],
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
