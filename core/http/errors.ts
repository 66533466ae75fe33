// Errors as values: every failure the API reports has an HTTP status, a stable code and a
// message that tells the caller what to fix. Rendered as {"error": {"code", "message"}}.
import { JsonReply } from './reply.ts';

/** Stable error codes, part of the API. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'empty_text'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'model_not_found'
  | 'model_not_ready'
  | 'preprocessing_mismatch'
  | 'overloaded'
  | 'rate_limited'
  | 'internal_error';

/** An error meant for the caller; thrown inside route code and rendered by the handler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Shorthand for 400 invalid_request. */
export function badRequest(message: string): HttpError {
  return new HttpError(400, 'invalid_request', message);
}

/** JSON response with no caching by intermediaries (answers are per input): a JsonReply's. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new JsonReply(body, status, headers).toResponse();
}

/**
 * The JSON answer of an HttpError (or of anything else, as a 500 that hides internals), not
 * yet a Response: the handler's errors, so that an adapter writing bytes itself answers a
 * cold isolate's first 404 without building a web Response (in Node 20 the first one loads
 * undici, ~18 ms on a quiet machine).
 */
export function errorReply(error: unknown): JsonReply {
  if (error instanceof HttpError) return new JsonReply({ error: { code: error.code, message: error.message } }, error.status, error.headers);
  return new JsonReply({ error: { code: 'internal_error', message: 'internal error; the server log has details' } }, 500);
}
