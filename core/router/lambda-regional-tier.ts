// The regional tier over AWS Lambda: one synchronous Invoke (InvocationType
// RequestResponse) per escalation through @aws-sdk/client-lambda, aborted at the router's
// budget. Follows the Invoke API reference: function errors come back as HTTP 200 with
// X-Amz-Function-Error (FunctionError in the SDK output), throttles as 429
// TooManyRequestsException, other service errors as non-2xx.
//
// Web runtimes: the SDK's "browser" entry (picked by bundlers with the browser condition)
// sends through fetch (FetchHttpHandler) and hashes with crypto.subtle; it has no default
// credential chain there, so edge builds must pass `credentials` explicitly.
import { InvokeCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { outcomeOfInvokeAnswer, outcomeOfInvokeFailure } from './invoke-outcome.ts';
import type { RegionalOutcome, RegionalRequest, RegionalTier } from './regional-tier.ts';

/** Where and how to reach the regional function. */
export interface LambdaRegionalTierOptions {
  /** Function name or ARN. */
  functionName: string;
  /** Alias or version to invoke (numbered versions keep edge and region in step). */
  qualifier?: string;
  region: string;
  /** Override of the Invoke API endpoint, e.g. http://127.0.0.1:9001 for `npm run lambda:local`. */
  endpoint?: string;
  credentials?: LambdaClientConfig['credentials'];
  /**
   * Attempts per escalation. Default 1: the SDK's default of 3 with backoff would spend
   * several budgets on a throttled or failing tier; the circuit breaker handles
   * persistent failure instead, and the edge answer is the fallback.
   */
  maxAttempts?: number;
  /** Extra client settings (e.g. a requestHandler); `client` replaces all of these. */
  clientConfig?: Omit<LambdaClientConfig, 'region' | 'endpoint' | 'credentials' | 'maxAttempts'>;
  /** A ready client (shared across models); when given, the connection options above are ignored. */
  client?: LambdaClient;
}

/** Creates the Lambda regional tier. The client is created once and reused (keep-alive). */
export function createLambdaRegionalTier(options: LambdaRegionalTierOptions): RegionalTier & { client: LambdaClient } {
  const client =
    options.client ??
    new LambdaClient({
      ...options.clientConfig,
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      maxAttempts: options.maxAttempts ?? 1,
    });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  return {
    kind: 'lambda',
    client,
    async invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome> {
      const command = new InvokeCommand({
        FunctionName: options.functionName,
        ...(options.qualifier ? { Qualifier: options.qualifier } : {}),
        InvocationType: 'RequestResponse',
        Payload: encoder.encode(JSON.stringify(request)),
      });
      let output;
      try {
        output = await client.send(command, { abortSignal: signal });
      } catch (error) {
        // The SDK throws for every non-2xx answer (with its status) and for no answer at all.
        const e = (error ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
        return outcomeOfInvokeFailure({ aborted: signal.aborted, name: e.name, message: e.message ?? String(error), status: e.$metadata?.httpStatusCode });
      }
      return outcomeOfInvokeAnswer({ functionError: output.FunctionError, payload: output.Payload ? decoder.decode(output.Payload) : '' });
    },
  };
}
