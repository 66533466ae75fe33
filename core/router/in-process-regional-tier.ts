// The regional tier in the same process: the embedded default of `npm start`, with no AWS
// at all. Runs the same regional predictor the Lambda function wraps, so answers and
// errors match the Lambda tier (a thrown error is a function error, as in Lambda). The
// answer's shape is not checked here: the cascade checks every tier's answers against the
// requested model (withCheckedAnswers, checked-regional-tier.ts), which subsumes it.
import { type RegionalOutcome, type RegionalPrediction, type RegionalRequest, type RegionalTier } from './regional-tier.ts';

/** Anything that answers a regional request (e.g. RegionalPredictor.predict). */
export type RegionalPredictFunction = (request: RegionalRequest) => Promise<RegionalPrediction>;

/** Wraps a predict function as a regional tier. Inference cannot be interrupted; the router's budget still applies. */
export function createInProcessRegionalTier(predict: RegionalPredictFunction): RegionalTier {
  return {
    kind: 'in-process',
    async invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome> {
      if (signal.aborted) return { ok: false, reason: 'timeout', message: 'regional call aborted before it started' };
      let prediction: RegionalPrediction;
      try {
        // A JSON round trip, as over the wire: the caller never shares objects with the tier.
        prediction = JSON.parse(JSON.stringify(await predict(JSON.parse(JSON.stringify(request)) as RegionalRequest))) as RegionalPrediction;
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        return { ok: false, reason: 'function_error', message: `regional function error (Unhandled): ${e.name}: ${e.message}` };
      }
      return { ok: true, prediction };
    },
  };
}
