// The Lambda@Edge adapter's two translations, on events shaped as in the AWS docs.
import { afterEach, describe, expect, it } from 'vitest';
import { createCloudFrontResult, createLambdaEdgeHandler, createRequestFromCloudFront, type CloudFrontRequestEvent } from '../../../adapters/lambda-edge/lambda-edge.ts';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import { edgeModelsRoot } from '../../runtime/conformance.ts';

function event(request: Partial<CloudFrontRequestEvent['Records'][0]['cf']['request']>): CloudFrontRequestEvent {
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', eventType: 'viewer-request' },
          request: { clientIp: '203.0.113.178', method: 'GET', uri: '/', querystring: '', headers: {}, ...request },
        },
      },
    ],
  };
}

describe('createRequestFromCloudFront', () => {
  it('rebuilds the URL from the Host header, uri and querystring, and flattens header lists', async () => {
    const { request, truncated } = createRequestFromCloudFront(
      event({
        uri: '/v2/models/spam-edge',
        querystring: 'a=1&b=2',
        headers: { host: [{ key: 'Host', value: 'edge.example.com' }], 'x-multi': [{ key: 'X-Multi', value: 'one' }, { key: 'X-Multi', value: 'two' }] },
      }),
    );
    expect(request.url).toBe('https://edge.example.com/v2/models/spam-edge?a=1&b=2');
    expect(request.headers.get('x-multi')).toBe('one, two');
    expect(request.method).toBe('GET');
    expect(truncated).toBe(false);
  });

  it('falls back to the distribution domain without a Host header; decodes base64 and text bodies', async () => {
    const json = '{"text":"héllo"}';
    const b64 = createRequestFromCloudFront(event({ method: 'POST', uri: '/v1/predict', body: { encoding: 'base64', data: Buffer.from(json).toString('base64'), inputTruncated: false } }));
    expect(b64.request.url).toBe('https://d111111abcdef8.cloudfront.net/v1/predict');
    expect(await b64.request.text()).toBe(json);
    const text = createRequestFromCloudFront(event({ method: 'POST', uri: '/v1/predict', body: { encoding: 'text', data: json } }));
    expect(await text.request.text()).toBe(json);
  });

  it('reports a truncated body, and sends no body with GET', async () => {
    const truncated = createRequestFromCloudFront(event({ method: 'POST', body: { encoding: 'base64', data: 'AAAA', inputTruncated: true } }));
    expect(truncated.truncated).toBe(true);
    const get = createRequestFromCloudFront(event({ method: 'GET', body: { encoding: 'text', data: 'ignored' } }));
    expect(get.request.body).toBeNull();
  });
});

describe('createCloudFrontResult', () => {
  it('JSON as text, status as a string, lower-cased header lists without read-only headers', async () => {
    const result = await createCloudFrontResult(
      new Response('{"ok":true}', { status: 201, statusText: 'Created', headers: { 'Content-Type': 'application/json', 'Server-Timing': 'infer;dur=1', Connection: 'keep-alive' } }),
    );
    expect(result).toEqual({
      status: '201',
      statusDescription: 'Created',
      headers: { 'content-type': [{ key: 'content-type', value: 'application/json' }], 'server-timing': [{ key: 'server-timing', value: 'infer;dur=1' }] },
      body: '{"ok":true}',
      bodyEncoding: 'text',
    });
  });

  it('binary bodies as base64', async () => {
    const bytes = new Uint8Array([0, 255, 1, 254, 128]);
    const result = await createCloudFrontResult(new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
    expect(result.bodyEncoding).toBe('base64');
    expect(Buffer.from(result.body, 'base64')).toEqual(Buffer.from(bytes));
  });
});

describe('createLambdaEdgeHandler without web Responses', () => {
  // In Node 20 the first web Response loads undici (~18 ms of a quiet cold start): JSON answers
  // (predictions, /_warm, health, errors) are written from the core's JsonReply instead.
  const RealResponse = globalThis.Response;
  afterEach(() => {
    globalThis.Response = RealResponse;
  });

  it('answers POST /v1/predict, GET /_warm, /healthz and a 404 constructing no Response; /metrics (text) still goes through one', async () => {
    const service = createLocalService({ modelsRoot: edgeModelsRoot(), micro: true, regional: { kind: 'none' }, config: { adminToken: 'le-token' } });
    const handler = createLambdaEdgeHandler(service, { trigger: 'viewer-request' });
    let constructed = 0;
    globalThis.Response = class extends RealResponse {
      constructor(...args: ConstructorParameters<typeof Response>) {
        super(...args);
        constructed++;
      }
    } as typeof Response;
    const auth = { authorization: [{ key: 'Authorization', value: 'Bearer le-token' }] };
    const body = { encoding: 'base64' as const, data: Buffer.from(JSON.stringify({ text: 'Subject: free money\n\nclaim your prize now' })).toString('base64') };
    const warm = await handler(event({ uri: '/_warm', headers: auth }));
    expect(warm.status).toBe('200');
    expect(JSON.parse(warm.body)).toMatchObject({ warmed: true, cold: true });
    const predicted = await handler(event({ method: 'POST', uri: '/v1/predict', headers: { 'content-type': [{ value: 'application/json' }] }, body }));
    expect(predicted.status).toBe('200');
    expect(['ham', 'spam']).toContain(JSON.parse(predicted.body).label);
    expect((await handler(event({ uri: '/healthz' }))).status).toBe('200');
    const missing = await handler(event({ uri: '/nope' }));
    expect(missing.status).toBe('404');
    expect(JSON.parse(missing.body).error.code).toBe('not_found');
    expect(missing.headers['content-type']?.[0]?.value).toMatch(/^application\/json/);
    expect(constructed).toBe(0);
    const metrics = await handler(event({ uri: '/metrics', headers: auth }));
    expect(metrics.status).toBe('200');
    expect(constructed).toBeGreaterThan(0);
    await service.close();
  });
});
