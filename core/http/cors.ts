// Cross-origin access for browser pages on other origins (the client SDK's use): configurable,
// off by default (no Access-Control-* header, same-origin only). A preflight (OPTIONS with
// Origin and Access-Control-Request-Method) is answered by the handler before routing, rate
// limiting and body reading, so it costs nothing a client can amplify. Fetch standard:
// https://fetch.spec.whatwg.org/#http-cors-protocol
//   EDGEINFER_CORS_ORIGINS   comma-separated origins ("https://app.example.com") or "*"; unset: off
//   EDGEINFER_CORS_METHODS   default "GET, POST"
//   EDGEINFER_CORS_HEADERS   request headers a page may send; default "content-type, authorization, x-api-key"
//   EDGEINFER_CORS_MAX_AGE   seconds a browser may cache a preflight; default 600
// No credentials mode: the API authenticates with headers, never cookies, so
// Access-Control-Allow-Credentials is never sent.
import type { CoreRequest } from './core-request.ts';
import { setHeader, type RouteResult } from './reply.ts';

/** Every variable this module reads: what an adapter copies from its environment. */
export const CORS_ENV_NAMES = ['EDGEINFER_CORS_ORIGINS', 'EDGEINFER_CORS_METHODS', 'EDGEINFER_CORS_HEADERS', 'EDGEINFER_CORS_MAX_AGE'] as const;

/** Answer headers a page on another origin may read (timings, rate-limit state). */
const EXPOSED_HEADERS = 'server-timing, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset';

/** A parsed CORS configuration. */
export interface CorsConfig {
  /** Allowed origins (serialised, as browsers send them), or "*" for any. */
  origins: ReadonlySet<string> | '*';
  methods: readonly string[];
  headers: readonly string[];
  maxAgeSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function list(raw: string | undefined, fallback: string, what: string, variable: string): string[] {
  const items = (raw ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!TOKEN.test(item)) throw new Error(`${variable} must be a comma-separated list of ${what}, got "${item.slice(0, 100)}"`);
  return items;
}

/** The CORS configuration from variables, or undefined when EDGEINFER_CORS_ORIGINS is unset (off). Bad values throw, naming the variable. */
export function createCorsFromEnv(env: Env): CorsConfig | undefined {
  const raw = env.EDGEINFER_CORS_ORIGINS?.trim();
  if (!raw) return undefined;
  let origins: Set<string> | '*';
  if (raw === '*') origins = '*';
  else {
    origins = new Set();
    for (const entry of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      let origin: string;
      try {
        origin = new URL(entry).origin;
      } catch {
        origin = 'null';
      }
      // An origin is scheme://host[:port], nothing more: a path or a typo would never match a browser's Origin.
      if (origin === 'null' || origin !== entry.replace(/\/$/, '')) throw new Error(`EDGEINFER_CORS_ORIGINS must list origins like https://app.example.com (or be "*"), got "${entry.slice(0, 100)}"`);
      origins.add(origin);
    }
  }
  const methods = list(env.EDGEINFER_CORS_METHODS, 'GET, POST', 'HTTP methods', 'EDGEINFER_CORS_METHODS').map((m) => m.toUpperCase());
  const headers = list(env.EDGEINFER_CORS_HEADERS, 'content-type, authorization, x-api-key', 'header names', 'EDGEINFER_CORS_HEADERS').map((h) => h.toLowerCase());
  const maxAge = env.EDGEINFER_CORS_MAX_AGE === undefined || env.EDGEINFER_CORS_MAX_AGE === '' ? 600 : Number(env.EDGEINFER_CORS_MAX_AGE);
  if (!Number.isSafeInteger(maxAge) || maxAge < 0 || maxAge > 86_400) throw new Error(`EDGEINFER_CORS_MAX_AGE must be whole seconds 0–86400, got "${env.EDGEINFER_CORS_MAX_AGE}"`);
  return { origins, methods, headers, maxAgeSeconds: maxAge };
}

/** The Access-Control-Allow-Origin value for this request's Origin, or undefined when it is not allowed (or absent). */
function allowedOrigin(cors: CorsConfig, origin: string | null): string | undefined {
  if (origin === null) return undefined;
  if (cors.origins === '*') return '*';
  return cors.origins.has(origin) ? origin : undefined;
}

/**
 * The answer to a CORS preflight, or undefined when the request is not one (it then routes as
 * usual). A disallowed origin gets a 204 without Access-Control-Allow-Origin: the browser
 * then refuses the real request, and the server has done no work.
 */
export function corsPreflight(cors: CorsConfig, request: CoreRequest): RouteResult | undefined {
  if (request.method !== 'OPTIONS') return undefined;
  const origin = request.headers.get('origin');
  const method = request.headers.get('access-control-request-method');
  if (origin === null || method === null) return undefined;
  const headers: Record<string, string> = { vary: 'origin, access-control-request-method, access-control-request-headers' };
  const allow = allowedOrigin(cors, origin);
  if (allow !== undefined) {
    headers['access-control-allow-origin'] = allow;
    headers['access-control-allow-methods'] = cors.methods.join(', ');
    headers['access-control-allow-headers'] = cors.headers.join(', ');
    headers['access-control-max-age'] = String(cors.maxAgeSeconds);
  }
  return new Response(null, { status: 204, headers: { 'cache-control': 'no-store', ...headers } });
}

/** Adds the CORS headers of an actual (non-preflight) request's answer from an allowed origin. */
export function annotateCors<R extends RouteResult>(cors: CorsConfig, request: CoreRequest, result: R): R {
  const allow = allowedOrigin(cors, request.headers.get('origin'));
  // The answer differs by Origin whenever origins are listed: caches must key on it.
  if (cors.origins !== '*') setHeader(result, 'vary', 'origin');
  if (allow === undefined) return result;
  setHeader(result, 'access-control-allow-origin', allow);
  setHeader(result, 'access-control-expose-headers', EXPOSED_HEADERS);
  return result;
}
