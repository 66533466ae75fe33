// One mapping from a Lambda Invoke answer to a RegionalOutcome, shared by both regional
// clients (the AWS SDK's, core/router/lambda-regional-tier.ts, and the signed fetch of edge
// builds, adapters/edge/signed-fetch-regional-tier.ts), so the same answer gets the same
// reason whichever client sent the call. Invoke API:
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
import { checkRegionalAnswer } from './regional-answer.ts';
import { describeFunctionError, type RegionalOutcome } from './regional-tier.ts';

/** A 2xx Invoke answer: the payload text and the X-Amz-Function-Error header, if any. */
export interface InvokeAnswer {
  functionError?: string | undefined;
  payload: string;
}

/** A call that got no 2xx answer. */
export interface InvokeFailure {
  /** The caller's signal fired (the router's budget). */
  aborted: boolean;
  /** Error name or the service's exception type (x-amzn-errortype). */
  name?: string | undefined;
  message: string;
  /** HTTP status when the Invoke API answered. */
  status?: number | undefined;
}

/** Maps a 2xx answer: function error, not JSON, not a prediction, or the checked prediction. */
export function outcomeOfInvokeAnswer(answer: InvokeAnswer): RegionalOutcome {
  if (answer.functionError) {
    return { ok: false, reason: 'function_error', message: `regional function error (${answer.functionError.slice(0, 64)}): ${describeFunctionError(answer.payload)}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.payload);
  } catch {
    return { ok: false, reason: 'bad_response', message: `regional function answered non-JSON: ${JSON.stringify(answer.payload.slice(0, 200))}` };
  }
  const checked = checkRegionalAnswer(body);
  return checked.ok ? checked : { ok: false, reason: 'bad_response', message: `regional function answer: ${checked.problem}` };
}

/** Maps a call without a 2xx answer: timeout, throttled (429), service_error (other status), network_error. */
export function outcomeOfInvokeFailure(failure: InvokeFailure): RegionalOutcome {
  const name = failure.name?.slice(0, 64);
  const message = failure.message.slice(0, 300);
  if (failure.aborted || name === 'AbortError' || name === 'TimeoutError') {
    return { ok: false, reason: 'timeout', message: `regional call aborted at the budget (${message})` };
  }
  if (failure.status === 429 || name === 'TooManyRequestsException') {
    return { ok: false, reason: 'throttled', message: `regional function throttled (${name ?? 'TooManyRequestsException'}: ${message})` };
  }
  if (failure.status !== undefined) return { ok: false, reason: 'service_error', message: `Invoke API error ${failure.status} ${name ?? ''}: ${message}` };
  return { ok: false, reason: 'network_error', message: `regional endpoint unreachable (${name ?? 'Error'}: ${message})` };
}
