// The regional function serves a model behind a Hugging Face tokenizer.json (#13/#15): the
// text goes through the model's own assembly (hf-tokenizer makes input_ids and
// attention_mask), not the email-hash ids path. A temp repository holds the tokenizer model
// (test/helpers/tokenizer-model.ts, classification of `scores` with softmax), served
//   in process  createRegionalLambda's predictor (the AWS Lambda handler's and `npm start`'s)
//   zip         the regional zip built from that repository, behind the local Invoke API
// The ids and mask the graph saw equal the library's encoding; the scores equal softmax of
// onnxruntime-node's run of the same .onnx on those ids within 1e-5; ids sent to it and a bad
// text fail with InvalidRequest.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegionalLambda, type RegionalLambda } from '../../../adapters/aws-lambda/regional-handler.ts';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
// In process, hf-tokenizer is registered as `npm start`'s service does (adapters/node/local-service.ts);
// the zip registers it because its model declares it.
import '../../../core/preprocess/hf-tokenizer-preprocessor.ts';
import { RegionalFunctionError } from '../../../core/regional/regional-predictor.ts';
import { libraryEncoding, TOKENIZER_MAX_LENGTH, writeTokenizerModel } from '../../helpers/tokenizer-model.ts';
import { startRegionalZip, type RegionalZip } from '../../helpers/regional-zip.ts';

const MODEL = 'tok_regional';
const LABELS = ['negative', 'positive'];
const TEXTS = ['Hello, World!', 'the edge model serves unknown text.', 'FREE prize now!!! playing'];

const work = mkdtempSync(join(tmpdir(), 'edgeinfer-regional-tok-'));
const repo = join(work, 'models');
const graph = writeTokenizerModel(repo, { name: MODEL, version: '1', role: 'regional', output: { kind: 'classification', tensor: 'scores', labels: LABELS, activation: 'softmax' } });
let session: ort.InferenceSession;
let regional: RegionalLambda;
let zip: RegionalZip;

beforeAll(async () => {
  session = await ort.InferenceSession.create(graph, { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 });
  regional = createRegionalLambda({ models: new FsModelSource(repo), executionProviders: ['cpu'] });
  zip = await startRegionalZip(work, repo);
}, 180_000);

afterAll(async () => {
  await zip?.close();
  await regional?.predictor.close();
  await session?.release();
  rmSync(work, { recursive: true, force: true });
});

const invokeZip = (payload: unknown) => zip.invoke(payload);

/** Softmax of onnxruntime-node's scores on the library's encoding of `text`. */
async function expectedScores(text: string): Promise<number[]> {
  const { ids, mask } = libraryEncoding(text);
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, TOKENIZER_MAX_LENGTH]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), [1, TOKENIZER_MAX_LENGTH]),
  };
  const logits = Array.from((await session.run(feeds)).scores!.data as Float32Array);
  const top = Math.max(...logits);
  const exp = logits.map((x) => Math.exp(x - top));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / sum);
}

const payload = (text: unknown, i = 0) => ({ model: MODEL, text, requestId: `tok-${i}`, deadlineMs: Date.now() + 20_000 });

describe('regional function serving a Hugging Face tokenizer model', () => {
  it('in process and in the zip: scores equal onnxruntime-node on the library ids within 1e-5, with the model identity', async () => {
    const manifest = JSON.parse(readFileSync(join(repo, MODEL, '1', 'model.json'), 'utf8'));
    for (const [i, text] of TEXTS.entries()) {
      const want = await expectedScores(text);
      const local = await regional.predictor.predict(payload(text, i));
      const zipped = await invokeZip(payload(text, i));
      expect(zipped.functionError, JSON.stringify(zipped.body).slice(0, 300)).toBeUndefined();
      for (const [where, answer] of [['in process', local], ['zip', zipped.body]] as const) {
        expect(answer.model, where).toEqual({ name: MODEL, version: '1', sha256: manifest.sha256 });
        expect(Object.keys(answer.scores).sort(), where).toEqual([...LABELS].sort());
        LABELS.forEach((label, k) => expect(Math.abs(answer.scores[label] - want[k]!), `${where} "${text}" ${label}`).toBeLessThan(1e-5));
        expect(answer.label, where).toBe(LABELS[want[1]! > want[0]! ? 1 : 0]);
        expect(answer.requestId, where).toBe(`tok-${i}`);
      }
    }
    // Texts differ in what the graph sees: the scores are not one constant answer.
    const first = await regional.predictor.predict(payload(TEXTS[0]));
    const other = await regional.predictor.predict(payload(TEXTS[2]));
    expect(first.scores.positive).not.toBeCloseTo(other.scores.positive as number, 4);
  }, 60_000);

  it('a text longer than maxLength is truncated (truncation on), not refused', async () => {
    const text = 'hello world '.repeat(20);
    const got = await regional.predictor.predict(payload(text));
    const { ids } = libraryEncoding('hello world '.repeat(7)); // [CLS] + 14 words + [SEP] = 16
    expect(ids).toHaveLength(TOKENIZER_MAX_LENGTH);
    const want = await expectedScores('hello world '.repeat(7));
    LABELS.forEach((label, k) => expect(Math.abs((got.scores[label] as number) - want[k]!)).toBeLessThan(1e-5));
  });

  it('fails ids (no email-hash ids for a tokenizer model) and bad text with InvalidRequest, in process and in the zip', async () => {
    const cases: unknown[] = [
      { model: MODEL, ids: [1, 2, 3], requestId: 'x', deadlineMs: Date.now() + 10_000 },
      payload(42),
      payload('   '),
    ];
    for (const p of cases) {
      const error = await regional.predictor.predict(p).catch((e: unknown) => e);
      expect(error, JSON.stringify(p)).toBeInstanceOf(RegionalFunctionError);
      expect((error as RegionalFunctionError).type).toBe('InvalidRequest');
      const zipped = await invokeZip(p);
      expect({ functionError: zipped.functionError, errorType: zipped.body.errorType }).toEqual({ functionError: 'Unhandled', errorType: 'InvalidRequest' });
    }
    const ids = (await regional.predictor.predict(cases[0]).catch((e: Error) => e)) as Error;
    expect(ids.message).toMatch(/takes no client token ids; send "text"/);
  });
});
