// Who may read /metrics and /dashboard. With EDGEINFER_ADMIN_TOKEN configured: a Bearer
// token, or (dashboard) the HttpOnly cookie the login form sets, which holds an HMAC of
// the token rather than the token itself. Without one: the dashboard is served only to a
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

/** The cookie value for a token: HMAC-SHA256(token, "edgeinfer-dashboard"), hex. */
export async function sessionValue(token: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode('edgeinfer-dashboard')));
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
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
export async function dashboardAccess(request: CoreRequest, token: string | undefined, peerAddress: string | undefined): Promise<DashboardAccess> {
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
  if (session !== undefined && constantTimeEqual(session, await sessionValue(token))) return { ok: true };
  return { ok: false, status: 401, message: 'sign in with the admin token (EDGEINFER_ADMIN_TOKEN)', loginForm: true };
}
