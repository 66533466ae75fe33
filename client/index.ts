// edgeinfer/client: predictions from a browser or Node. The client runs the model's own
// preprocessing and sends compact token ids ({ids, preprocessing: {id, version}}); with a
// local model it answers the confident cases itself and calls the endpoint only where the
// edge policy would escalate. Web-standard only (fetch, typed arrays).
import { requireTextPreprocessing } from '../core/model/manifest.ts';
import { preprocessingFingerprint } from '../core/preprocess/fingerprint.ts';
import { createPreprocessor, type PreprocessingSpec, type Preprocessor } from '../core/preprocess/index.ts';
import type { PredictResponse } from '../core/routes/predict.ts';
import type { LocalModel } from './local-model.ts';

export { createLocalModel, type LocalClassification, type LocalModel } from './local-model.ts';
export type { PredictResponse } from '../core/routes/predict.ts';

/** How to reach the service and what to run locally. */
export interface ClientOptions {
  /** Base URL of the service, e.g. "https://api.example.com" ("" = same origin in a browser). */
  endpoint: string;
  /** fetch to use (defaults to the global one). */
  fetch?: typeof fetch;
  /**
   * Model to ask for; default: the local model's. Needed unless `local` or `preprocessing`
   * is given (the client must know whose preprocessing to run); with `preprocessing` alone
   * the request names no model and the server's default answers.
   */
  model?: string;
  /** The model's preprocessing; fetched once from GET /v2/models/{model} when absent (and no local model). */
  preprocessing?: PreprocessingSpec;
  /** The edge model to run in the client (createLocalModel); needed for local mode. */
  local?: LocalModel;
  /** Start in local mode (default: true when `local` is given). */
  localMode?: boolean;
  /**
   * May the raw text go to the endpoint when the edge model is unsure? The regional model
   * reads its own preprocessing of the text, so without it the answer stays the degraded
   * edge one (reason "text_required"). Default true.
   */
  sendTextWhenUnsure?: boolean;
}

/** The /v1/predict answer of a classification model (the client's models classify text). */
export interface Classification extends PredictResponse {
  label: string;
  scores: Record<string, number>;
}

/** The service's answer plus where it came from, as the client saw it. */
export interface ClientPrediction extends Classification {
  /** "local": the client's edge model answered, no request was made. */
  answeredBy: 'local' | 'endpoint';
  /** Requests this prediction made (0 when answered locally; 2 when ids came back text_required). */
  requests: number;
  /** Client-side stages, milliseconds (the server's own stay in `timings`). */
  clientTimings: { preprocessMs: number; localInferMs?: number; endpointMs?: number; totalMs: number };
}

/** Counts since the client was created. */
export interface ClientStats {
  predictions: number;
  answeredLocally: number;
  /** HTTP requests to /v1/predict. */
  endpointRequests: number;
  /** Requests that carried raw text (the edge model was unsure). */
  textRequests: number;
}

/** An HTTP error from the service, with its JSON error code. */
export class EdgeInferError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EdgeInferError';
  }
}

/** What the client says about its ids: the preprocessing and a fingerprint of its params. */
export interface SentPreprocessing {
  id: string;
  version: number;
  fingerprint: string;
}

/** A preprocessor with the fingerprint of the spec it was made from. */
interface ClientPreprocessor {
  preprocessor: Preprocessor;
  sent: SentPreprocessing;
}

/** A client bound to one endpoint and model. */
export interface EdgeInferClient {
  predict(text: string): Promise<ClientPrediction>;
  /** The ids the client sends for a text, and the preprocessing they were made with. */
  preprocess(text: string): Promise<{ ids: Int32Array; preprocessing: SentPreprocessing }>;
  /** Whether predictions answer locally first (only possible with a local model). */
  localMode: boolean;
  readonly hasLocalModel: boolean;
  stats(): ClientStats;
}

/** Creates a client. Nothing is fetched until the first call. */
export function createClient(options: ClientOptions): EdgeInferClient {
  const base = options.endpoint.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const local = options.local;
  const model = options.model ?? local?.manifest.name;
  if (model === undefined && !options.preprocessing) {
    throw new TypeError('createClient: name the model ({ model: "<name>" }), or give a local model or its preprocessing');
  }
  const sendText = options.sendTextWhenUnsure ?? true;
  const stats: ClientStats = { predictions: 0, answeredLocally: 0, endpointRequests: 0, textRequests: 0 };
  let localMode = options.localMode ?? local !== undefined;
  let preprocessor: Promise<ClientPreprocessor> | undefined;
  // After a 409 the server's own params win over the local model's or the pinned ones.
  let askServer = false;

  function getPreprocessor(): Promise<ClientPreprocessor> {
    if (!preprocessor) {
      const ownModel = local && (!options.model || options.model === local.manifest.name);
      const spec = askServer
        ? fetchPreprocessing()
        : Promise.resolve(ownModel ? requireTextPreprocessing(local.manifest) : options.preprocessing ?? fetchPreprocessing());
      preprocessor = spec.then(async (s) => {
        const made = createPreprocessor(await s);
        return { preprocessor: made, sent: { id: made.id, version: made.version, fingerprint: preprocessingFingerprint(await s) } };
      });
      // A failed metadata fetch is not remembered: the next call tries again.
      preprocessor.catch(() => (preprocessor = undefined));
    }
    return preprocessor;
  }

  async function fetchPreprocessing(): Promise<PreprocessingSpec> {
    if (model === undefined) {
      throw new EdgeInferError(409, 'preprocessing_mismatch', "the server's default model does not take the pinned preprocessing; name the model (createClient({ model }))");
    }
    const response = await doFetch(`${base}/v2/models/${encodeURIComponent(model)}`);
    const body = (await readJson(response)) as { parameters?: { preprocessing?: PreprocessingSpec } };
    const spec = body.parameters?.preprocessing;
    if (!spec || spec.params === undefined) {
      throw new EdgeInferError(response.status, 'bad_metadata', `GET /v2/models/${model} did not say the model's preprocessing params; is the server older than the client?`);
    }
    return spec;
  }

  async function post(body: Record<string, unknown>): Promise<Classification> {
    stats.endpointRequests++;
    if ('text' in body) stats.textRequests++;
    const response = await doFetch(`${base}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(model === undefined ? body : { ...body, model }),
    });
    const answer = (await readJson(response)) as PredictResponse;
    if (typeof answer.label !== 'string' || typeof answer.scores !== 'object' || answer.scores === null) {
      throw new EdgeInferError(response.status, 'bad_response', `the model answered ${answer.kind ?? 'without'} a label; edgeinfer/client serves classification models`);
    }
    return answer as Classification;
  }

  return {
    get localMode() {
      return localMode;
    },
    set localMode(on: boolean) {
      if (on && !local) throw new Error('local mode needs a local model: createClient({ local: createLocalModel(manifest, module) })');
      localMode = on;
    },
    hasLocalModel: local !== undefined,
    stats: () => ({ ...stats }),

    async preprocess(text) {
      const { preprocessor: p, sent } = await getPreprocessor();
      return { ids: p.toIds(text), preprocessing: sent };
    },

    async predict(text) {
      if (typeof text !== 'string' || text.trim() === '') throw new TypeError('predict(text): text must be a non-empty string');
      const started = performance.now();
      stats.predictions++;
      let { preprocessor: p, sent: preprocessing } = await getPreprocessor();
      let ids = p.toIds(text);
      const preprocessMs = performance.now() - started;
      const finish = (answer: Classification, answeredBy: ClientPrediction['answeredBy'], requests: number, extra: Partial<ClientPrediction['clientTimings']>) => ({
        ...answer,
        answeredBy,
        requests,
        clientTimings: { preprocessMs: round(preprocessMs), ...extra, totalMs: round(performance.now() - started) },
      });

      if (localMode && local) {
        const t0 = performance.now();
        const result = local.classify(ids);
        const localInferMs = round(performance.now() - t0);
        const m = local.manifest;
        const edgeAnswer: Classification = {
          kind: 'classification',
          label: result.label,
          scores: result.scores,
          model: { name: m.name, version: m.version, sha256: m.sha256 },
          tier: 'edge',
          degraded: false,
          cached: false,
          timings: {},
        };
        if (result.confidence.confident) {
          stats.answeredLocally++;
          return finish(edgeAnswer, 'local', 0, { localInferMs });
        }
        if (!sendText) {
          stats.answeredLocally++;
          return finish({ ...edgeAnswer, degraded: true, reason: 'text_required' }, 'local', 0, { localInferMs });
        }
        // The server would escalate: the regional model needs the text itself.
        const t1 = performance.now();
        const answer = await post({ text });
        return finish(answer, 'endpoint', 1, { localInferMs, endpointMs: round(performance.now() - t1) });
      }

      const t1 = performance.now();
      let requests = 1;
      let answer: Classification;
      try {
        answer = await post({ ids: Array.from(ids), preprocessing });
      } catch (error) {
        // The served model changed its preprocessing (a new version): take its params once.
        if (!(error instanceof EdgeInferError && error.code === 'preprocessing_mismatch')) throw error;
        askServer = true;
        preprocessor = undefined;
        ({ preprocessor: p, sent: preprocessing } = await getPreprocessor());
        ids = p.toIds(text);
        answer = await post({ ids: Array.from(ids), preprocessing });
        requests = 2;
      }
      if (answer.degraded && answer.reason === 'text_required' && sendText) {
        answer = await post({ text });
        requests++;
      }
      return finish(answer, 'endpoint', requests, { endpointMs: round(performance.now() - t1) });
    },
  };
}

async function readJson(response: Response): Promise<unknown> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new EdgeInferError(response.status, 'bad_response', `the service answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } }).error;
    throw new EdgeInferError(response.status, error?.code ?? 'http_error', error?.message ?? `the service answered ${response.status}`);
  }
  return body;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
