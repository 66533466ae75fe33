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

/** The function's default export: (request, context) → Response. */
export function createVercelEdgeHandler(service: InferenceService): (request: Request, context?: VercelEdgeContext) => Promise<Response> {
  return (request, context) =>
    service.fetch(request, { ...(context?.waitUntil ? { waitUntil: (p) => context.waitUntil!(p) } : {}), platform: context });
}
