// The part of a web Request the core reads. Every edge target passes its platform's
// Request; the node server passes a lighter object over node:http's already-parsed request,
// since in Node constructing an undici Request (URL, Headers, AbortSignal) per call is a
// large share of a cached prediction's cost.

export interface CoreRequest {
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  /** The body stream; null when there is none or when the adapter passed it as RequestContext.body. */
  readonly body: ReadableStream<Uint8Array> | null;
  /**
   * The whole body at once (a web Request has it). readBodyBytes uses it only when a declared
   * Content-Length is within the limit, and checks the length read: in a fresh Deno the first
   * `arrayBuffer()` costs ~0.15 ms where the first stream reader costs ~0.75 ms. Without it, or
   * without a Content-Length (chunked), the body is read as a bounded stream.
   */
  arrayBuffer?(): Promise<ArrayBuffer>;
}
