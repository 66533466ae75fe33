// Reading request bodies safely: content type first, then a size cap enforced while
// streaming (a huge body is never buffered whole), then strict UTF-8 and JSON parsing.
import type { CoreRequest } from './core-request.ts';
import { HttpError } from './errors.ts';

/**
 * Reads the body as bytes, refusing more than `maxBytes` (413) as early as possible.
 * `preread` is the whole body when the adapter already holds it (RequestContext.body): the
 * Request then carries none, which spares building and draining a body stream.
 */
export async function readBodyBytes(request: CoreRequest, maxBytes: number, preread?: Uint8Array): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(413, 'payload_too_large', `request body exceeds the limit of ${maxBytes} bytes (EDGEINFER_MAX_BODY_BYTES); send a shorter text, or tensors as binary data (Inference-Header-Content-Length), a fraction of their JSON size`);
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge();
  if (preread !== undefined) {
    if (preread.byteLength > maxBytes) throw tooLarge();
    return preread;
  }
  // A declared length within the limit: the platform frames the body by it, so reading it
  // whole buffers at most maxBytes (the length read is checked all the same). Before touching
  // `request.body`: in Deno that getter builds the body's ReadableStream.
  if (declared !== null && request.arrayBuffer && /^\d+$/.test(declared.trim())) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await request.arrayBuffer());
    } catch {
      throw new HttpError(400, 'invalid_request', 'the request body could not be read (connection aborted?)');
    }
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return bytes;
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch {
      throw new HttpError(400, 'invalid_request', 'the request body could not be read (connection aborted?)');
    }
    if (result.done) break;
    total += result.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(result.value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The media type of a request (lower-case, parameters dropped), "" when absent. */
export function mediaTypeOf(request: CoreRequest): string {
  return (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** A 415 naming the content type that was expected and the one sent. */
export function unsupportedMediaType(request: CoreRequest, expected: string): HttpError {
  const contentType = request.headers.get('content-type') ?? '';
  return new HttpError(415, 'unsupported_media_type', `expected content-type ${expected}, got ${contentType ? `"${contentType.slice(0, 100)}"` : 'none'}`);
}

/** True for application/json and any +json type. */
export function isJsonMediaType(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Requires a JSON content type, reads at most `maxBytes`, and parses; each failure is a clear 4xx. */
export async function readJsonBody(request: CoreRequest, maxBytes: number, preread?: Uint8Array): Promise<unknown> {
  if (!isJsonMediaType(mediaTypeOf(request))) throw unsupportedMediaType(request, 'application/json');
  return parseJsonBytes(await readBodyBytes(request, maxBytes, preread), 'the request body');
}

/** Strict UTF-8 then JSON.parse of `bytes`; `what` names them in the 400 ("the request body"). */
export function parseJsonBytes(bytes: Uint8Array, what: string): unknown {
  if (bytes.byteLength === 0) throw new HttpError(400, 'invalid_json', `${what} is empty; send a JSON object`);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_json', `${what} is not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `${what} is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
}

/** Narrows a parsed body to a plain object, or 400. */
export function requireObject(value: unknown, what = 'the request body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_request', `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Rejects keys outside `allowed`, so typos are reported instead of ignored. */
export function rejectUnknownKeys(object: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new HttpError(
        400,
        'invalid_request',
        `unknown field "${key.slice(0, 64)}" in ${what}; allowed: ${allowed.join(', ')}`,
      );
    }
  }
}
