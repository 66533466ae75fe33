// What `npm run models` trains: preprocessing params and hyperparameters of each example
// model. Chosen on the calibration split only (the test split is read once, for the report).
import type { EmailHashParams, EmailHashVersion } from '../../core/preprocess/index.ts';
import type { EngineChoice } from '../../core/model/manifest.ts';
import type { FastTextConfig } from './fasttext.ts';

/** One model to build. */
export interface ModelSpec {
  name: string;
  version: string;
  /** int8 weights (edge) or fp32 (regional). */
  quantized: boolean;
  /** Also output the penultimate-layer activation as `embedding`. */
  embeddingOutput: boolean;
  engine: EngineChoice;
  /** Which builds embed it (model.json "role"): the edge targets or the regional function. */
  role: 'edge' | 'regional';
  /** The model a low-confidence answer escalates to (model.json "cascade.regional"). */
  cascadeTo?: string;
  /** email-hash version: 1 reads text as written, 2 normalises it first (core/preprocess/normalise.ts). */
  preprocessingVersion: EmailHashVersion;
  preprocessing: EmailHashParams;
  training: Omit<FastTextConfig, 'buckets' | 'classes'>;
  /** Header-less views added to training (train-graphs.ts toTrainingExamples): the body alone, and its opening. */
  augment: { bodies: boolean; openings: boolean };
  /**
   * Prune, then quantize (prune.ts) on every build: the rows kept are chosen on calibration
   * among `keepFractions` within `budgetPoints` (`--prune` on the command line overrides).
   */
  prune?: { budgetPoints: number; keepFractions: number[] };
  /** Quality bars the build checks (fractions). */
  bars: { minTestAccuracy: number; maxInt8CostPoints?: number; maxModelBytes: number };
}

/** Tiny int8 model for the point of presence: words of Subject, From and the first 1,000 body characters. */
export const EDGE_SPEC_V1: ModelSpec = {
  name: 'spam-edge',
  version: '1',
  preprocessingVersion: 1,
  quantized: true,
  augment: { bodies: true, openings: true },
  embeddingOutput: false,
  engine: 'auto',
  role: 'edge',
  cascadeTo: 'spam-regional',
  preprocessing: { buckets: 8192, bodyChars: 1000, wordNgrams: 1, charNgrams: 0, extraHeaders: [], maxIds: 512 },
  training: { dim: 16, hidden: 16, epochs: 10, learningRate: 0.05, embeddingLearningRateScale: 20, weightDecay: 0, seed: 1 },
  bars: { minTestAccuracy: 0.975, maxInt8CostPoints: 0.2, maxModelBytes: 300 * 1024 },
};

/**
 * Stronger fp32 model for the regional tier: 2^16 buckets, word bigrams, character 3-grams,
 * header words from list and mailer headers, twice the body text, a wider hidden layer.
 */
export const REGIONAL_SPEC_V1: ModelSpec = {
  name: 'spam-regional',
  version: '1',
  preprocessingVersion: 1,
  quantized: false,
  augment: { bodies: true, openings: false },
  embeddingOutput: true,
  engine: 'ort',
  role: 'regional',
  preprocessing: {
    buckets: 65536,
    bodyChars: 2000,
    wordNgrams: 2,
    charNgrams: 3,
    extraHeaders: [
      'to',
      'reply-to',
      'content-type',
      'x-mailer',
      'user-agent',
      'list-id',
      'precedence',
      'return-path',
      'x-priority',
      'x-msmail-priority',
      'organization',
      'message-id',
      'in-reply-to',
    ],
    maxIds: 8192,
  },
  training: { dim: 32, hidden: 64, epochs: 10, learningRate: 0.05, embeddingLearningRateScale: 100, weightDecay: 0, seed: 1 },
  bars: { minTestAccuracy: 0.988, maxModelBytes: 16 * 1024 * 1024 },
};

/**
 * Version 2 of both: the same models on email-hash v2 (normalised text), so fullwidth, bold,
 * zero-width-split and lookalike copies of a message get its ids. The served default (the
 * latest version); version 1 stays for clients that still send v1 ids.
 */
export const EDGE_SPEC: ModelSpec = {
  ...EDGE_SPEC_V1,
  version: '2',
  preprocessingVersion: 2,
  // The normaliser adds ~0.6 KB gzip to every edge bundle, which sit at their size bar: paid
  // for by zeroing the 5 % least-used embedding rows (~6 KB gzip less), at no cost on the
  // calibration split (the budget is 0 points; test accuracy and AUC unchanged as well).
  prune: { budgetPoints: 0, keepFractions: [1, 0.95] },
};
export const REGIONAL_SPEC: ModelSpec = { ...REGIONAL_SPEC_V1, version: '2', preprocessingVersion: 2 };

/** Everything `npm run models` builds, in order (v1 is rebuilt too: it must stay reproducible). */
export const SPAM_SPECS: readonly ModelSpec[] = [EDGE_SPEC_V1, REGIONAL_SPEC_V1, EDGE_SPEC, REGIONAL_SPEC];
