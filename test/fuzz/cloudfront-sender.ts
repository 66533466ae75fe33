// Sends fuzz cases to a built Lambda@Edge handler the way CloudFront would: each case becomes
// a CloudFront request event (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html)
// for the trigger the distribution associates with its path (build/targets/lambda-edge.ts:
// origin-request on /v2/*, viewer-request elsewhere), the body base64 and cut to what
// CloudFront exposes (40 KB viewer, 1 MB origin) with inputTruncated set, headers as
// lower-cased [{key, value}] lists. The answer is judged as CloudFront would take it: a thrown
// handler or an invalid generated response is a 5xx at the viewer.
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from '../../adapters/lambda-edge/lambda-edge.ts';
import { judgeResponse, type FuzzCase, type FuzzOutcome, type FuzzSender } from './bad-requests.ts';

export type CloudFrontTrigger = 'viewer-request' | 'origin-request';
export type CloudFrontHandler = (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse>;

/** Bytes of the body CloudFront hands a function (IncludeBody), per trigger. */
export const EXPOSED_BODY_BYTES: Record<CloudFrontTrigger, number> = { 'viewer-request': 40 * 1024, 'origin-request': 1024 * 1024 };
/** Largest generated response (headers and body) CloudFront accepts from a function, per trigger. */
export const GENERATED_RESPONSE_BYTES: Record<CloudFrontTrigger, number> = { 'viewer-request': 40 * 1024, 'origin-request': 1024 * 1024 };

const DISTRIBUTION = 'd111111abcdef8.cloudfront.net';

/** The trigger CloudFront runs for a path in our distribution: /v2/* has the origin-request association. */
export function triggerFor(path: string): CloudFrontTrigger {
  return path.startsWith('/v2/') ? 'origin-request' : 'viewer-request';
}

/** The CloudFront request event for one fuzz case. */
export function cloudFrontEventFor(fuzzCase: FuzzCase, trigger: CloudFrontTrigger): CloudFrontRequestEvent {
  const headers: CloudFrontRequestEvent['Records'][0]['cf']['request']['headers'] = { host: [{ key: 'Host', value: DISTRIBUTION }] };
  const add = (name: string, value: string) => (headers[name.toLowerCase()] ??= []).push({ key: name, value });
  for (const [name, value] of fuzzCase.headers) add(name, value);
  const body = fuzzCase.body;
  // The viewer's framing headers reach the function read-only, as sent.
  if (body && fuzzCase.chunkBytes) add('Transfer-Encoding', 'chunked');
  else if (body) add('Content-Length', String(fuzzCase.declaredLength ?? body.byteLength));
  const queryAt = fuzzCase.path.indexOf('?');
  const uri = queryAt < 0 ? fuzzCase.path : fuzzCase.path.slice(0, queryAt);
  const querystring = queryAt < 0 ? '' : fuzzCase.path.slice(queryAt + 1);
  const limit = EXPOSED_BODY_BYTES[trigger];
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: DISTRIBUTION, distributionId: 'EDFDVBD6EXAMPLE', eventType: trigger, requestId: `fuzz-${fuzzCase.index}` },
          request: {
            clientIp: '203.0.113.178',
            method: fuzzCase.method,
            uri,
            querystring,
            headers,
            ...(body ? { body: { inputTruncated: body.byteLength > limit, action: 'read-only', encoding: 'base64' as const, data: Buffer.from(body.subarray(0, limit)).toString('base64') } } : {}),
          },
        },
      },
    ],
  };
}

/** Judges a generated response as CloudFront would, then as every fuzz answer is judged. */
export function judgeCloudFrontResult(fuzzCase: FuzzCase, trigger: CloudFrontTrigger, result: CloudFrontResultResponse): FuzzOutcome {
  const status = typeof result?.status === 'string' && /^[1-5]\d\d$/.test(result.status) ? Number(result.status) : 0;
  if (!status) return { status: 502, code: 'invalid_result', violation: `CloudFront refuses the generated response: status ${JSON.stringify(result?.status)}` };
  const bytes = result.bodyEncoding === 'base64' ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
  const headerBytes = Object.values(result.headers ?? {}).flat().reduce((n, h) => n + (h.key?.length ?? 0) + h.value.length + 4, 0);
  if (Buffer.byteLength(result.body ?? '') + headerBytes > GENERATED_RESPONSE_BYTES[trigger]) {
    return { status: 502, code: 'response_too_large', violation: `generated response over CloudFront's ${GENERATED_RESPONSE_BYTES[trigger]} bytes for ${trigger}` };
  }
  const contentType = result.headers?.['content-type']?.map((h) => h.value).join(', ') ?? null;
  return judgeResponse(fuzzCase, status, contentType, bytes.toString('utf8'));
}

/**
 * A fuzz sender over Lambda@Edge handlers. A handler that throws is what CloudFront turns
 * into a 502/503 for the viewer: it counts as a 5xx answer (and a violation), not a loss.
 */
export function cloudFrontSender(handlers: Record<CloudFrontTrigger, CloudFrontHandler>, counts?: Record<CloudFrontTrigger, number>): FuzzSender {
  return async (fuzzCase) => {
    const trigger = triggerFor(fuzzCase.path);
    if (counts) counts[trigger]++;
    let result: CloudFrontResultResponse;
    try {
      result = await handlers[trigger](cloudFrontEventFor(fuzzCase, trigger));
    } catch (error) {
      return { status: 502, code: 'handler_threw', violation: `${trigger} handler threw: ${(error as Error)?.stack ?? String(error)}`.slice(0, 600) };
    }
    return judgeCloudFrontResult(fuzzCase, trigger, result);
  };
}
