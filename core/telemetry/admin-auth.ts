// Who may read /metrics and /dashboard. With EDGEINFER_ADMIN_TOKEN configured: a Bearer
// token, or (dashboard) the HttpOnly cookie the login form sets: an expiring session signed
// with a server-side key (EDGEINFER_SESSION_KEY, else random per isolate), which says nothing
// about the token and is revoked by rotating the key (#17 item 11). Without one: the dashboard is served only to a
// loopback peer (the adapter reports the peer address; edge adapters report none, so
// there it is never served), and /metrics is open, as Prometheus scrape targets usually are.
import type { CoreRequest } from '../http/core-request.ts';
import { HttpError } from '../http/errors.ts';

/** Name of the dashboard session cookie. */
export const DASHBOARD_COOKIE = 'edgeinfer_dashboard';

/** The bearer token of the request, if any. */
export function bearerToken(request: CoreRequest): string | undefined {
  const header = request.headers.get('authorization');
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  return match ? (match[1] as string) : undefined;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** Compares without an early exit, so timing does not reveal how much matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/** Lifetime of a dashboard session, seconds (12 h). */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

const encoder = new TextEncoder();

async function hmacHex(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Signs and checks dashboard sessions: `v1.{expiry, epoch seconds}.{HMAC-SHA256(key, "edgeinfer-dashboard.v1.{expiry}")}`.
 * The key is EDGEINFER_SESSION_KEY when set (shared by every isolate; changing it revokes
 * every session), else 32 random bytes drawn on first use (sessions of one isolate, ended by a restart).
 */
export class DashboardSessions {
  readonly #configured: string | undefined;
  #key: string | undefined;
  readonly #now: () => number;

  constructor(key?: string, now: () => number = () => Date.now()) {
    this.#configured = key || undefined;
    this.#now = now;
  }

  get #secret(): string {
    // Drawn lazily: some edge runtimes refuse randomness at module scope and at start-up.
    this.#key ??= this.#configured ?? Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
    return this.#key;
  }

  /** A new session cookie value, valid for {@link SESSION_TTL_SECONDS}. */
  async issue(): Promise<string> {
    const expiry = Math.floor(this.#now() / 1000) + SESSION_TTL_SECONDS;
    return `v1.${expiry}.${await hmacHex(this.#secret, `edgeinfer-dashboard.v1.${expiry}`)}`;
  }

  /** True for a session this key signed that has not expired (and does not claim to outlive its lifetime). */
  async verify(value: string): Promise<boolean> {
    const match = /^v1\.(\d{1,12})\.([0-9a-f]{64})$/.exec(value);
    if (!match) return false;
    const expiry = Number(match[1]);
    const nowSeconds = this.#now() / 1000;
    if (!(expiry > nowSeconds && expiry <= nowSeconds + SESSION_TTL_SECONDS + 60)) return false;
    return constantTimeEqual(match[2] as string, await hmacHex(this.#secret, `edgeinfer-dashboard.v1.${expiry}`));
  }
}

/**
 * Refuses a login form posted from another site (#17 item 11): a browser sends
 * Sec-Fetch-Site and Origin with a form POST; a cross-site one (or an opaque "null"
 * origin) is refused. Without either header the client is no browser, and no cross-site
 * forgery is possible. Origins are compared by host: a TLS-terminating proxy changes the scheme.
 */
export function crossSiteProblem(request: CoreRequest): string | undefined {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') return `a login posted from another site is refused (Sec-Fetch-Site: ${site.slice(0, 32)})`;
  const origin = request.headers.get('origin');
  if (origin === null) return undefined;
  let host: string | undefined;
  try {
    host = origin === 'null' ? undefined : new URL(origin).host;
  } catch {
    host = undefined;
  }
  const own = request.headers.get('host') ?? new URL(request.url).host;
  return host !== undefined && host === own ? undefined : 'a login posted from another origin is refused (Origin does not match Host)';
}

function cookie(request: CoreRequest, name: string): string | undefined {
  const header = request.headers.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `route` (e.g. "GET /_warm") needs the Bearer `token`: 401 without one, 403 for a wrong one (compared in constant time). */
export function requireBearer(request: CoreRequest, token: string, route: string): void {
  const given = bearerToken(request);
  if (given === undefined) throw new HttpError(401, 'unauthorized', `${route} needs \`Authorization: Bearer <EDGEINFER_ADMIN_TOKEN>\``, { 'www-authenticate': 'Bearer' });
  if (!constantTimeEqual(given, token)) throw new HttpError(403, 'forbidden', 'the bearer token does not match EDGEINFER_ADMIN_TOKEN');
}

/** GET /metrics: the Bearer token when one is configured (401 without, 403 wrong). */
export function authorizeMetrics(request: CoreRequest, token: string | undefined): void {
  if (token) requireBearer(request, token, 'GET /metrics');
}

/** How a dashboard request stands: allowed, or why not (the route answers with the login form or a 403). */
export type DashboardAccess = { ok: true } | { ok: false; status: 401 | 403; message: string; loginForm: boolean };

/** GET /dashboard: Bearer token or session cookie when a token is configured; loopback only otherwise. */
export async function dashboardAccess(request: CoreRequest, token: string | undefined, peerAddress: string | undefined, sessions: DashboardSessions): Promise<DashboardAccess> {
  if (!token) {
    if (isLoopback(peerAddress)) return { ok: true };
    return {
      ok: false,
      status: 403,
      message: 'the dashboard is served only on loopback while no admin token is configured: set EDGEINFER_ADMIN_TOKEN to open it to others',
      loginForm: false,
    };
  }
  const given = bearerToken(request);
  if (given !== undefined) {
    return constantTimeEqual(given, token) ? { ok: true } : { ok: false, status: 403, message: 'the bearer token does not match EDGEINFER_ADMIN_TOKEN', loginForm: true };
  }
  const session = cookie(request, DASHBOARD_COOKIE);
  if (session !== undefined && (await sessions.verify(session))) return { ok: true };
  if (session !== undefined) return { ok: false, status: 401, message: 'your session has expired or was revoked: sign in again with the admin token', loginForm: true };
  return { ok: false, status: 401, message: 'sign in with the admin token (EDGEINFER_ADMIN_TOKEN)', loginForm: true };
}
