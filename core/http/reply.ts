// A JSON answer not yet made into a web Response. The hot route (POST /v1/predict) returns
// one; `service.fetch` turns it into a Response, while an adapter that writes bytes itself
// (the node server) takes it as it is: in Node, building a Response and draining its body
// stream cost more than answering a cached prediction.

/** Status, headers and a JSON body, serialised once on first use. */
export class JsonReply {
  readonly headers: Record<string, string>;
  #text: string | undefined;

  constructor(
    readonly body: unknown,
    readonly status = 200,
    headers: Record<string, string> = {},
  ) {
    // Every JSON answer's defaults (jsonResponse builds on this): per input, never shared by intermediaries.
    this.headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers };
  }

  /** The serialised body. */
  text(): string {
    this.#text ??= JSON.stringify(this.body);
    return this.#text;
  }

  toResponse(): Response {
    return new Response(this.text(), { status: this.status, headers: this.headers });
  }
}

/** What a route answers: a web Response, or a JsonReply for the adapter to write. */
export type RouteResult = Response | JsonReply;

/** The web Response of a route's answer. */
export function toResponse(result: RouteResult): Response {
  return result instanceof JsonReply ? result.toResponse() : result;
}

/** Sets a header on either kind of answer (a Response with immutable headers keeps its own). */
export function setHeader(result: RouteResult, name: string, value: string): void {
  if (result instanceof JsonReply) {
    result.headers[name.toLowerCase()] = value;
    return;
  }
  try {
    result.headers.set(name, value);
  } catch {
    // Immutable headers (a response passed through from fetch): the answer matters more than its headers.
  }
}
