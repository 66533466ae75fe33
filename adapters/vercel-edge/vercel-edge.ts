// Vercel Edge Functions adapter (Build Output API v3, runtime "edge"): Vercel hands the
// function a web Request and a context with waitUntil, so this only passes them on.
// https://vercel.com/docs/build-output-api/v3/primitives#edge-functions
import type { InferenceService } from '../../core/handler.ts';
import { constantTimeEqual } from '../../core/telemetry/admin-auth.ts';

/** The part of Vercel's edge context we use. */
interface VercelEdgeContext {
  waitUntil?(promise: Promise<unknown>): void;
}

/** The environment of a Vercel edge function (process.env is inlined by Vercel; absent elsewhere). */
export function vercelEnv(): Record<string, string | undefined> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}

/**
 * The client's IP as Vercel reports it. Vercel sets x-real-ip and overwrites x-forwarded-for
 * with the address it saw (a client cannot spoof them), so here they may key rate limits.
 */
export function vercelClientIp(request: Request): string | undefined {
  const real = request.headers.get('x-real-ip');
  if (real) return real.trim();
  const forwarded = request.headers.get('x-forwarded-for');
  return forwarded ? forwarded.split(',')[0]!.trim() || undefined : undefined;
}

/** Tokens of the warm route on Vercel: the admin token, and the CRON_SECRET Vercel's cron sends. */
export interface VercelTokens {
  adminToken?: string | undefined;
  cronSecret?: string | undefined;
}

/**
 * The admin token the service should be configured with: EDGEINFER_ADMIN_TOKEN, or CRON_SECRET
 * when it is the only one (then every admin route takes it, as before).
 */
export function vercelAdminToken(tokens: VercelTokens): string | undefined {
  return tokens.adminToken || tokens.cronSecret || undefined;
}

/**
 * Vercel's cron calls GET <path> with `Authorization: Bearer <CRON_SECRET>`
 * (https://vercel.com/docs/cron-jobs/manage-cron-jobs). With both tokens set and different,
 * a GET /_warm bearing CRON_SECRET is handed to the core as bearing the admin token: the
 * secret opens the warm route only, never /metrics or the dashboard.
 */
export function acceptCronSecret(request: Request, tokens: VercelTokens): Request {
  const { adminToken, cronSecret } = tokens;
  if (!adminToken || !cronSecret || adminToken === cronSecret || request.method !== 'GET') return request;
  if (new URL(request.url).pathname !== '/_warm') return request;
  const given = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]?.trim();
  if (given === undefined || !constantTimeEqual(given, cronSecret)) return request;
  const headers = new Headers(request.headers);
  headers.set('authorization', `Bearer ${adminToken}`);
  return new Request(request, { headers });
}

/** The function's default export: (request, context) → Response. */
export function createVercelEdgeHandler(service: InferenceService, tokens: VercelTokens = {}): (request: Request, context?: VercelEdgeContext) => Promise<Response> {
  return (incoming, context) => {
    const request = acceptCronSecret(incoming, tokens);
    const clientIp = vercelClientIp(request);
    return service.fetch(request, { ...(context?.waitUntil ? { waitUntil: (p) => context.waitUntil!(p) } : {}), ...(clientIp ? { clientIp } : {}), platform: context });
  };
}
