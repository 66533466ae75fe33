// POST /v1/predict: the product's own endpoint. {"text": "..."} in; label, scores, model
// identity, tier, cache state and stage timings out (also as Server-Timing).
import { rejectUnknownKeys, readJsonBody, requireObject } from '../http/body.ts';
import { HttpError, jsonResponse } from '../http/errors.ts';
import { StageTimer } from '../http/timing.ts';
import { requireText } from '../serving/inputs.ts';
import type { ServiceContext } from '../service-context.ts';

const PREDICT_FIELDS = ['text', 'model'] as const;

/** The JSON answer of /v1/predict. */
export interface PredictResponse {
  label: string;
  scores: Record<string, number>;
  model: { name: string; version: string; sha256: string };
  tier: 'edge' | 'regional';
  cached: boolean;
  timings: Record<string, number>;
}

/** Handles POST /v1/predict. */
export async function handlePredict(request: Request, service: ServiceContext): Promise<Response> {
  const timer = new StageTimer();
  const body = requireObject(await timer.time('parse', () => readJsonBody(request, service.config.maxBodyBytes)));
  rejectUnknownKeys(body, PREDICT_FIELDS, 'the request body');
  const text = requireText(body.text);
  const modelName = body.model === undefined ? service.config.defaultModel : body.model;
  if (typeof modelName !== 'string') throw new HttpError(400, 'invalid_request', 'field "model" must be a string naming a model');

  const model = await service.requireModel(modelName);
  const ids = await timer.time('preprocess', () => model.preprocessor.toIds(text));
  const result = await timer.time('infer', () => model.classifyIds(ids));
  const timings = timer.snapshot();
  const answer: PredictResponse = {
    label: result.label,
    scores: result.scores,
    model: { name: model.manifest.name, version: model.manifest.version, sha256: model.manifest.sha256 },
    tier: 'edge',
    cached: false,
    timings,
  };
  return jsonResponse(answer, 200, { 'server-timing': StageTimer.header(timings) });
}
