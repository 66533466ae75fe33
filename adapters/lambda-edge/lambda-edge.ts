// Lambda@Edge adapter: turns a CloudFront viewer-request or origin-request event into a web
// Request for the core, and the core's Response into a CloudFront generated response.
// Event and result shapes follow the AWS docs:
//   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html
//   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-generating-http-responses.html
// Lambda@Edge has no environment variables: configuration is baked into the bundle at build.
// The handler gives the core a light request view and writes its JSON replies directly: in
// Node, the first web Request/Response/Headers loads undici (tens of ms of a cold start).
import type { InferenceService } from '../../core/handler.ts';
import type { CoreRequest } from '../../core/http/core-request.ts';
import { JsonReply } from '../../core/http/reply.ts';
import { bytesFromBase64 } from '../../core/model/embedded-source.ts';

/** CloudFront header lists: lower-cased name → [{key, value}]. */
export type CloudFrontHeaders = Record<string, Array<{ key?: string; value: string }>>;

/** The request inside a CloudFront event (the fields we read). */
export interface CloudFrontRequest {
  clientIp?: string;
  method: string;
  uri: string;
  querystring?: string;
  headers: CloudFrontHeaders;
  /** Present when the behaviour includes the body ("Include body" on the association). */
  body?: { inputTruncated?: boolean; action?: string; encoding?: 'base64' | 'text'; data?: string };
}

/** A CloudFront Lambda@Edge request event. */
export interface CloudFrontRequestEvent {
  Records: Array<{
    cf: {
      config: { distributionDomainName?: string; distributionId?: string; eventType?: string; requestId?: string };
      request: CloudFrontRequest;
    };
  }>;
}

/** A response generated at the edge. CloudFront wants the status as a string. */
export interface CloudFrontResultResponse {
  status: string;
  statusDescription?: string;
  headers: CloudFrontHeaders;
  body: string;
  bodyEncoding: 'text' | 'base64';
}

/** Body bytes CloudFront exposes to a Lambda@Edge function (edge-functions-restrictions): more is truncated. */
export const CLOUDFRONT_BODY_LIMITS = { 'viewer-request': 40 * 1024, 'origin-request': 1024 * 1024 } as const;

/**
 * The origin-request function's warm path. CloudFront picks a trigger by path pattern, so the
 * warm schedule (and `npm run warm`) reach the origin-request function through a behaviour of
 * its own; the adapter hands the core its /_warm route. The viewer-request function never sees
 * this path (its behaviour does not match it) and answers it 404 like any unknown route.
 */
export const ORIGIN_REQUEST_WARM_PATH = '/_warm/origin-request';

/** Header naming the trigger that answered, so a warmer reports per function. */
export const TRIGGER_HEADER = 'x-edgeinfer-function';

/** Headers a function may not set on a generated response (CloudFront rejects or owns them). */
const READ_ONLY_HEADERS = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'via', 'proxy-connection']);

const TEXT_TYPE = /^(text\/|application\/(json|javascript|xml)|[^;]*\+json)/i;
const UTF8 = new TextDecoder();

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Builds the web Request of a CloudFront event; undefined body means "none sent". */
export function createRequestFromCloudFront(event: CloudFrontRequestEvent): { request: Request; truncated: boolean; clientIp?: string } {
  const { config, request: cf } = event.Records[0]!.cf;
  const headers = new Headers();
  for (const [name, list] of Object.entries(cf.headers ?? {})) for (const { value } of list) headers.append(name, value);
  // Under an origin request policy that forwards all viewer headers except Host (the template's),
  // an origin-request event's Host is the origin's domain: the distribution's is the one the viewer used.
  const origin = config.eventType === 'origin-request';
  const host = (origin ? config.distributionDomainName : undefined) ?? headers.get('host') ?? config.distributionDomainName ?? 'localhost';
  const uri = origin && cf.uri === ORIGIN_REQUEST_WARM_PATH ? '/_warm' : cf.uri;
  const url = `https://${host}${uri}${cf.querystring ? `?${cf.querystring}` : ''}`;
  const data = cf.body?.data;
  // A truncated body is dropped here (never decoded): the core answers 413 and nothing parses a prefix.
  const truncated = Boolean(cf.body?.inputTruncated);
  let body: Uint8Array | string | undefined;
  if (!truncated && data && cf.method !== 'GET' && cf.method !== 'HEAD') body = cf.body?.encoding === 'base64' ? bytesFromBase64(data) : data;
  return {
    request: new Request(url, { method: cf.method, headers, ...(body !== undefined ? { body: body as BodyInit } : {}) }),
    truncated,
    ...(cf.clientIp ? { clientIp: cf.clientIp } : {}),
  };
}

/** Turns a web Response into a CloudFront generated response (base64 for binary bodies). */
export async function createCloudFrontResult(response: Response): Promise<CloudFrontResultResponse> {
  const headers: CloudFrontHeaders = {};
  response.headers.forEach((value, name) => {
    if (READ_ONLY_HEADERS.has(name)) return;
    (headers[name] ??= []).push({ key: name, value });
  });
  const type = response.headers.get('content-type') ?? '';
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = TEXT_TYPE.test(type) || bytes.length === 0;
  return {
    status: String(response.status),
    ...(response.statusText ? { statusDescription: response.statusText } : {}),
    headers,
    body: text ? UTF8.decode(bytes) : bytesToBase64(bytes),
    bodyEncoding: text ? 'text' : 'base64',
  };
}

/** Host header values that can sit in a URL's authority as they are. */
const PLAIN_HOST = /^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * The core's view of a CloudFront request (no undici object built) and its body bytes, which
 * travel as RequestContext.body. A truncated body is dropped (answered 413, never parsed).
 */
export function createCoreRequestFromCloudFront(event: CloudFrontRequestEvent): { request: CoreRequest; body?: Uint8Array; truncated: boolean; clientIp?: string } {
  const { config, request: cf } = event.Records[0]!.cf;
  const lists = cf.headers ?? {};
  // Under an origin request policy that forwards all viewer headers except Host (the template's),
  // an origin-request event's Host is the origin's domain: the distribution's is the one the viewer used.
  const origin = config.eventType === 'origin-request';
  const hostHeader = origin && config.distributionDomainName ? undefined : lists.host?.[0]?.value;
  const host = hostHeader !== undefined && PLAIN_HOST.test(hostHeader) ? hostHeader : config.distributionDomainName && PLAIN_HOST.test(config.distributionDomainName) ? config.distributionDomainName : 'localhost';
  const path = cf.uri?.startsWith('/') ? cf.uri : `/${cf.uri ?? ''}`;
  const uri = origin && path === ORIGIN_REQUEST_WARM_PATH ? '/_warm' : path;
  const truncated = Boolean(cf.body?.inputTruncated);
  const data = cf.body?.data;
  let body: Uint8Array | undefined;
  if (!truncated && data && cf.method !== 'GET' && cf.method !== 'HEAD') body = cf.body?.encoding === 'base64' ? bytesFromBase64(data) : new TextEncoder().encode(data);
  const request: CoreRequest = {
    method: cf.method,
    url: `https://${host}${uri}${cf.querystring ? `?${cf.querystring}` : ''}`,
    headers: {
      // CloudFront keys header lists by lower-cased name; repeated values join as Headers.get does.
      get(name: string): string | null {
        const list = lists[name.toLowerCase()];
        return list && list.length ? list.map((h) => h.value).join(', ') : null;
      },
    },
    body: null,
  };
  return { request, ...(body ? { body } : {}), truncated, ...(cf.clientIp ? { clientIp: cf.clientIp } : {}) };
}

function resultFromJsonReply(reply: JsonReply): CloudFrontResultResponse {
  const headers: CloudFrontHeaders = {};
  for (const [name, value] of Object.entries(reply.headers)) {
    const lower = name.toLowerCase();
    if (!READ_ONLY_HEADERS.has(lower)) (headers[lower] ??= []).push({ key: lower, value });
  }
  return { status: String(reply.status), headers, body: reply.text(), bodyEncoding: 'text' };
}

/** The Lambda handler of a viewer- or origin-request trigger. */
export function createLambdaEdgeHandler(service: InferenceService, options: { trigger: 'viewer-request' | 'origin-request' }): (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse> {
  // CloudFront truncates bodies it exposes (40 KB viewer, 1 MB origin) and says so with
  // body.inputTruncated: answering on a prefix would classify text nobody sent, so the core
  // answers 413 (counted in telemetry like any other 413).
  const exposed = CLOUDFRONT_BODY_LIMITS[options.trigger];
  const hint = options.trigger === 'viewer-request' ? 'or send it to the origin-request behaviour (/v2/*, 1 MB)' : undefined;
  return async (event) => {
    const background: Promise<unknown>[] = [];
    const { request, body, truncated, clientIp } = createCoreRequestFromCloudFront(event);
    const answer = await service.handle(request, {
      waitUntil: (p) => void background.push(p),
      platform: event,
      ...(body ? { body } : {}),
      ...(clientIp ? { clientIp } : {}),
      ...(truncated ? { bodyTruncated: { limitBytes: exposed, ...(hint ? { hint } : {}) } } : {}),
    });
    const result = answer instanceof JsonReply ? resultFromJsonReply(answer) : await createCloudFrontResult(answer);
    result.headers[TRIGGER_HEADER] = [{ key: TRIGGER_HEADER, value: options.trigger }];
    // Lambda freezes the container after the handler returns: finish write-backs first.
    await Promise.allSettled(background);
    return result;
  };
}
