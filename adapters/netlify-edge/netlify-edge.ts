// Netlify Edge Functions adapter (Deno): Netlify calls `export default (request, context)`
// with a web Request and a context carrying waitUntil, so this only passes them on.
// https://docs.netlify.com/edge-functions/api/
import type { InferenceService } from '../../core/handler.ts';

/** The part of Netlify's edge context we use. */
interface NetlifyEdgeContext {
  waitUntil?(promise: Promise<unknown>): void;
  /** The client's IP address, as Netlify saw it. */
  ip?: string;
}

/** Netlify's environment (`Netlify.env`), or Deno's where the Netlify global is absent. */
export function netlifyEnv(): Record<string, string | undefined> {
  const g = globalThis as { Netlify?: { env: { toObject(): Record<string, string> } }; Deno?: { env: { toObject(): Record<string, string> } } };
  try {
    return g.Netlify?.env.toObject() ?? g.Deno?.env.toObject() ?? {};
  } catch {
    return {}; // Deno without --allow-env
  }
}

/** The function's default export. */
export function createNetlifyEdgeHandler(service: InferenceService): (request: Request, context?: NetlifyEdgeContext) => Promise<Response> {
  return (request, context) =>
    service.fetch(request, {
      ...(context?.waitUntil ? { waitUntil: (p) => context.waitUntil!(p) } : {}),
      ...(context?.ip ? { clientIp: context.ip } : {}),
      platform: context,
    });
}
