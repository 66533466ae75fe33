// Vercel Edge Functions adapter (Build Output API v3, runtime "edge"): Vercel hands the
// function a web Request and a context with waitUntil, so this only passes them on.
// https://vercel.com/docs/build-output-api/v3/primitives#edge-functions
import type { InferenceService } from '../../core/handler.ts';

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

/** The function's default export: (request, context) → Response. */
export function createVercelEdgeHandler(service: InferenceService): (request: Request, context?: VercelEdgeContext) => Promise<Response> {
  return (request, context) => {
    const clientIp = vercelClientIp(request);
    return service.fetch(request, { ...(context?.waitUntil ? { waitUntil: (p) => context.waitUntil!(p) } : {}), ...(clientIp ? { clientIp } : {}), platform: context });
  };
}
