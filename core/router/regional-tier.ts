// The regional tier contract: a larger model behind a call that can fail or be slow. Two
// implementations share it: the Lambda client (lambda-regional-tier.ts, through the AWS
// SDK) and an in-process one (the embedded default of `npm start`, no AWS at all).

/** Invoke payload sent to the regional function (also the Lambda event). */
export interface RegionalRequest {
  /** Model name in the repository, e.g. "spam-regional". */
  model: string;
  /** Version folder; the newest when absent. */
  version?: string;
  /** Raw message text; exactly one of `text` and `ids`. */
  text?: string;
  /** Token ids already produced by the regional model's preprocessor. */
  ids?: number[];
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

/** Checks that a decoded payload has the shape of a RegionalPrediction; returns a problem or null. */
export function regionalPredictionProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'answer is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.label !== 'string') return 'answer has no string "label"';
  if (typeof v.scores !== 'object' || v.scores === null) return 'answer has no "scores" object';
  if (!Object.values(v.scores).every((s) => typeof s === 'number')) return '"scores" values must be numbers';
  const m = v.model as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null || typeof m.name !== 'string' || typeof m.version !== 'string' || typeof m.sha256 !== 'string') {
    return 'answer has no "model" {name, version, sha256}';
  }
  return null;
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
