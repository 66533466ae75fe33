// The edge's regional tier: one SigV4-signed fetch (aws4fetch) making the same Lambda Invoke
// as the SDK tier, against the local Invoke API server: every outcome maps to the same
// reason as core/router/lambda-regional-tier.ts. Its signature equals the one the AWS SDK's
// own signer (@smithy/signature-v4) computes for the same request.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { createSignedFetchRegionalTier, type SignedFetchRegionalTierOptions } from '../../../adapters/edge/signed-fetch-regional-tier.ts';
import type { RegionalRequest } from '../../../core/router/regional-tier.ts';
import { KNOB_HEADERS, startLocalInvokeServer, type LocalInvokeServer } from '../../../adapters/aws-lambda/local-invoke-server.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const request: RegionalRequest = { model: 'm', text: 'hello', requestId: 'r1', deadlineMs: Date.now() + 60_000 };

let server: LocalInvokeServer;
const seen: unknown[] = [];

beforeAll(async () => {
  server = await startLocalInvokeServer({
    functions: {
      regional: async (event) => {
        seen.push(event);
        return { label: 'spam', scores: { ham: 0.1, spam: 0.9 }, model: { name: 'm', version: '1', sha256: 'ab' }, timings: {}, executionProvider: 'cpu' };
      },
      broken: async () => ({ nope: true }),
      failing: async () => {
        throw Object.assign(new Error('model exploded'), { name: 'InferenceFailed' });
      },
    },
  });
});
afterAll(() => server.close());

/** A fetch that adds the local server's knob headers (after signing: the local server does not verify). */
const withHeaders = (headers: Record<string, string>): typeof fetch => (input, init) => {
  const req = new Request(input as Request, init);
  for (const [k, v] of Object.entries(headers)) req.headers.set(k, v);
  return fetch(req);
};

function tier(functionName = 'regional', extra: Partial<SignedFetchRegionalTierOptions> = {}) {
  return createSignedFetchRegionalTier({ functionName, region: 'us-east-1', endpoint: server.url, credentials, ...extra });
}

describe('signed-fetch regional tier (local Invoke API)', () => {
  it('sends the payload as RequestResponse and returns the prediction', async () => {
    const outcome = await tier().invoke(request, new AbortController().signal);
    expect(outcome).toEqual({ ok: true, prediction: expect.objectContaining({ label: 'spam', executionProvider: 'cpu' }) });
    expect(seen.at(-1)).toEqual(request);
  });

  it('maps X-Amz-Function-Error to function_error with the errorType', async () => {
    const outcome = await tier('failing').invoke(request, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, reason: 'function_error' });
    if (!outcome.ok) expect(outcome.message).toContain('InferenceFailed: model exploded');
  });

  it('maps 429 to throttled with exactly one call (aws4fetch would retry 10 times by default)', async () => {
    const before = server.invocations.get('regional') ?? 0;
    const outcome = await tier('regional', { fetch: withHeaders({ [KNOB_HEADERS.throttle]: '1' }) }).invoke(request, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, reason: 'throttled' });
    expect((server.invocations.get('regional') ?? 0) - before).toBe(1);
  });

  it('aborts a slow call at the signal and says timeout', async () => {
    const t0 = performance.now();
    const outcome = await tier('regional', { fetch: withHeaders({ [KNOB_HEADERS.delayMs]: '1000' }) }).invoke(request, AbortSignal.timeout(80));
    expect(outcome).toMatchObject({ ok: false, reason: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(80 + 150);
  });

  it('maps an unknown function to service_error naming the exception, a non-prediction to bad_response', async () => {
    const missing = await tier('missing').invoke(request, new AbortController().signal);
    expect(missing).toMatchObject({ ok: false, reason: 'service_error' });
    if (!missing.ok) expect(missing.message).toMatch(/^Invoke API error 404 ResourceNotFoundException: /);
    expect(await tier('broken').invoke(request, new AbortController().signal)).toMatchObject({ ok: false, reason: 'bad_response' });
  });

  it('maps an unreachable endpoint to network_error', async () => {
    const down = await startLocalInvokeServer({ functions: {} });
    await down.close();
    const outcome = await createSignedFetchRegionalTier({ functionName: 'x', region: 'us-east-1', endpoint: down.url, credentials }).invoke(request, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, reason: 'network_error' });
  });
});

const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** node:crypto as the Hash the smithy signer takes. */
class NodeSha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

describe('the SigV4 signature', () => {
  it('is the one the AWS SDK signer computes for the same Invoke request (ARN with qualifier, session token)', async () => {
    let sent: Request | undefined;
    const capture: typeof fetch = async (input, init) => {
      sent = new Request(input as Request, init);
      return new Response(JSON.stringify({ label: 'x', scores: { x: 1 }, model: { name: 'm', version: '1', sha256: 'ab' } }), { status: 200 });
    };
    const functionName = 'arn:aws:lambda:eu-west-1:123456789012:function:edgeinfer-regional';
    const withToken = { ...credentials, sessionToken: 'session/token+value' };
    const outcome = await createSignedFetchRegionalTier({ functionName, qualifier: 'live', region: 'eu-west-1', credentials: withToken, fetch: capture }).invoke(request, new AbortController().signal);
    expect(outcome.ok).toBe(true);
    const url = new URL(sent!.url);
    expect(url.host).toBe('lambda.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe(`/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`);
    expect(url.search).toBe('?Qualifier=live');
    const authorization = sent!.headers.get('authorization')!;
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(';');
    const amzDate = sent!.headers.get('x-amz-date')!;
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) headers[name] = name === 'host' ? url.host : sent!.headers.get(name)!;
    const body = await sent!.text();
    const signer = new SignatureV4({ service: 'lambda', region: 'eu-west-1', credentials: withToken, sha256: NodeSha256, applyChecksum: false });
    const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const bySdk = await signer.sign(
      { method: 'POST', protocol: 'https:', hostname: url.host, path: url.pathname, query: { Qualifier: 'live' }, headers, body },
      { signingDate: date, unsignableHeaders: new Set(), signableHeaders: new Set(signedHeaders) },
    );
    expect(bySdk.headers.authorization ?? bySdk.headers.Authorization).toBe(authorization);
    expect(signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token', 'x-amz-invocation-type']));
  });
});
