// The regional tier contract: a larger model behind a call that can fail or be slow. Two
// implementations share it: the Lambda client (lambda-regional-tier.ts, through the AWS
// SDK) and an in-process one (the embedded default of `npm start`, no AWS at all).

/** Invoke payload sent to the regional function (also the Lambda event). */
export interface RegionalRequest {
  /** Model name in the repository, e.g. "spam-regional". */
  model: string;
  /** Version folder; the newest when absent. */
  version?: string;
  /** Raw message text; never with `ids`. */
  text?: string;
  /** Token ids already produced by the regional model's preprocessor. */
  ids?: number[];
  /** Request fields (tabular models): numeric inputs and the entity keys of feature views. */
  fields?: Record<string, string | number>;
  /**
   * Feature and embedding inputs of the regional model the edge already assembled from the
   * store, by input name (values in order); the regional function assembles any other one
   * with its own feature source. The regional cache key is over these values.
   */
  features?: Record<string, number[]>;
  /** Correlates logs at the edge and in the region. */
  requestId: string;
  /** Epoch milliseconds after which the caller no longer waits for the answer. */
  deadlineMs: number;
}

/** What the regional function answers. */
export interface RegionalPrediction {
  label: string;
  /** Probability per label. */
  scores: Record<string, number>;
  model: { name: string; version: string; sha256: string };
  /** Stage timings inside the function, milliseconds. */
  timings: Record<string, number>;
  /** Execution provider that ran the model ("cpu", "cuda"). */
  executionProvider: string;
  /** `features_unavailable` when the function's feature store was slow or down and defaults were used. */
  degraded?: string;
}

/** Why a regional call produced no answer. */
export type RegionalFailureReason =
  | 'timeout' // no answer within the budget (the call was aborted)
  | 'function_error' // the function ran and failed (X-Amz-Function-Error)
  | 'throttled' // 429: concurrency or rate limit
  | 'service_error' // any other non-2xx from the Invoke API
  | 'network_error' // no HTTP answer at all (DNS, refused, reset)
  | 'bad_response'; // 2xx, but not a prediction

/** Result of one regional call: errors are values, never rejections. */
export type RegionalOutcome =
  | { ok: true; prediction: RegionalPrediction }
  | { ok: false; reason: RegionalFailureReason; message: string };

/** A regional tier. `invoke` resolves (never rejects) and stops work when `signal` aborts. */
export interface RegionalTier {
  /** "lambda" or "in-process"; reported in answers and metrics. */
  readonly kind: string;
  invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome>;
}

/** Lambda puts {errorType, errorMessage} in the payload of a function error: one line of it. */
export function describeFunctionError(text: string): string {
  try {
    const body = JSON.parse(text) as { errorType?: string; errorMessage?: string };
    if (body.errorType || body.errorMessage) return `${body.errorType ?? 'Error'}: ${body.errorMessage ?? ''}`;
  } catch {
    // fall through: show the raw text
  }
  return text.slice(0, 200) || '(no payload)';
}
