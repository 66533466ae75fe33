// The Lambda regional tier through the real @aws-sdk/client-lambda against the local
// Invoke API server: how every kind of Invoke outcome maps to a reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { createLambdaRegionalTier } from '../../../core/router/lambda-regional-tier.ts';
import type { RegionalRequest } from '../../../core/router/regional-tier.ts';
import { KNOB_HEADERS, startLocalInvokeServer, type LocalInvokeServer } from '../../../adapters/aws-lambda/local-invoke-server.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
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

function tier(functionName = 'regional', extra: Partial<Parameters<typeof createLambdaRegionalTier>[0]> = {}) {
  return createLambdaRegionalTier({ functionName, region: 'us-east-1', endpoint: server.url, credentials, ...extra });
}

/** Adds the local server's per-request knob headers to every call of a client. */
function withHeaders(client: LambdaClient, headers: Record<string, string>): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
      return next(args);
    },
    { step: 'build', name: 'testKnobHeaders' },
  );
}

describe('Lambda regional tier (real SDK, local Invoke API)', () => {
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

  it('maps 429 to throttled, with exactly one attempt (maxAttempts 1)', async () => {
    const t = tier();
    withHeaders(t.client, { [KNOB_HEADERS.throttle]: '1' });
    const before = server.invocations.get('regional') ?? 0;
    const outcome = await t.invoke(request, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, reason: 'throttled' });
    expect((server.invocations.get('regional') ?? 0) - before).toBe(1);
  });

  it('with the SDK default of 3 attempts a throttle costs three calls (why maxAttempts is 1)', async () => {
    const t = tier('regional', { maxAttempts: 3 });
    withHeaders(t.client, { [KNOB_HEADERS.throttle]: '1' });
    const before = server.invocations.get('regional') ?? 0;
    expect(await t.invoke(request, new AbortController().signal)).toMatchObject({ ok: false, reason: 'throttled' });
    expect((server.invocations.get('regional') ?? 0) - before).toBe(3);
  });

  it('aborts a slow call at the signal and says timeout', async () => {
    const t = tier();
    withHeaders(t.client, { [KNOB_HEADERS.delayMs]: '1000' });
    const t0 = performance.now();
    const outcome = await t.invoke(request, AbortSignal.timeout(80));
    const elapsed = performance.now() - t0;
    expect(outcome).toMatchObject({ ok: false, reason: 'timeout' });
    expect(elapsed).toBeLessThan(80 + 150);
  });

  it('maps an unknown function to service_error, an answer that is not a prediction to bad_response', async () => {
    expect(await tier('missing').invoke(request, new AbortController().signal)).toMatchObject({ ok: false, reason: 'service_error' });
    const broken = await tier('broken').invoke(request, new AbortController().signal);
    expect(broken).toMatchObject({ ok: false, reason: 'bad_response' });
  });

  it('reports a function past its timeout as Sandbox.Timedout (a function error)', async () => {
    const slow = await startLocalInvokeServer({ functions: { slow: () => new Promise(() => {}) }, timeoutMs: 50 });
    try {
      const outcome = await createLambdaRegionalTier({ functionName: 'slow', region: 'us-east-1', endpoint: slow.url, credentials }).invoke(
        request,
        new AbortController().signal,
      );
      expect(outcome).toMatchObject({ ok: false, reason: 'function_error' });
      if (!outcome.ok) expect(outcome.message).toMatch(/Sandbox\.Timedout: .*Task timed out after 0\.05 seconds/);
    } finally {
      await slow.close();
    }
  });

  it('maps an unreachable endpoint to network_error', async () => {
    const down = await startLocalInvokeServer({ functions: {} });
    await down.close();
    const outcome = await createLambdaRegionalTier({ functionName: 'x', region: 'us-east-1', endpoint: down.url, credentials }).invoke(
      request,
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'network_error' });
  });
});
