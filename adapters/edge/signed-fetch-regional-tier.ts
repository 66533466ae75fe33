// The regional tier at the edge: the same synchronous Lambda Invoke as
// core/router/lambda-regional-tier.ts (InvocationType RequestResponse, outcomes mapped to the
// same reasons), sent as one fetch signed with SigV4 by aws4fetch instead of through
// @aws-sdk/client-lambda. Measured in an edge bundle (README, "Cold start"): the SDK's client
// and its @smithy runtime cost ~50 KB gzip and their evaluation at start-up; aws4fetch ~2.5 KB.
// The node server and the regional tooling keep the SDK (credential chain, retries, middleware).
// Invoke API: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
import { AwsClient } from 'aws4fetch';
import { outcomeOfInvokeAnswer, outcomeOfInvokeFailure } from '../../core/router/invoke-outcome.ts';
import type { RegionalOutcome, RegionalRequest, RegionalTier } from '../../core/router/regional-tier.ts';

/** Where and how to reach the regional function (explicit keys: edge runtimes have no credential chain). */
export interface SignedFetchRegionalTierOptions {
  /** Function name or ARN. */
  functionName: string;
  /** Alias or version to invoke. */
  qualifier?: string;
  region: string;
  /** Override of the Invoke API endpoint, e.g. http://127.0.0.1:9001 for `npm run lambda:local`. */
  endpoint?: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The fetch to send with (tests); the global one by default. */
  fetch?: typeof fetch;
}

/** Creates the signed-fetch regional tier. One attempt per escalation: the circuit breaker handles persistent failure. */
export function createSignedFetchRegionalTier(options: SignedFetchRegionalTierOptions): RegionalTier {
  const aws = new AwsClient({
    accessKeyId: options.credentials.accessKeyId,
    secretAccessKey: options.credentials.secretAccessKey,
    ...(options.credentials.sessionToken ? { sessionToken: options.credentials.sessionToken } : {}),
    service: 'lambda',
    region: options.region,
    // aws4fetch retries 10 times by default: that would spend many budgets on a throttled tier.
    retries: 0,
  });
  const base = (options.endpoint ?? `https://lambda.${options.region}.amazonaws.com`).replace(/\/+$/, '');
  const url = `${base}/2015-03-31/functions/${encodeURIComponent(options.functionName)}/invocations${options.qualifier ? `?Qualifier=${encodeURIComponent(options.qualifier)}` : ''}`;
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  return {
    kind: 'lambda',
    async invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome> {
      let response: Response;
      let text: string;
      try {
        const signed = await aws.sign(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
          body: JSON.stringify(request),
        });
        response = await send(signed, { signal });
        text = await response.text();
      } catch (error) {
        const e = (error ?? {}) as { name?: string; message?: string };
        return outcomeOfInvokeFailure({ aborted: signal.aborted, name: e.name, message: e.message ?? String(error) });
      }
      if (response.status < 200 || response.status > 299) {
        const type = response.headers.get('x-amzn-errortype')?.split(':')[0] || undefined;
        return outcomeOfInvokeFailure({ aborted: false, name: type, message: serviceMessage(text), status: response.status });
      }
      return outcomeOfInvokeAnswer({ functionError: response.headers.get('x-amz-function-error') ?? undefined, payload: text });
    },
  };
}

// Service errors carry {message} or {Message} (the SDK reads either).
function serviceMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: string; Message?: string };
    return body.message ?? body.Message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
