// The regional Lambda handler with onnxruntime-node on a real (seeded) model: answers,
// structured function errors for bad payloads, one model load per container.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { createRegionalLambda, executionProvidersFor, type RegionalLambda } from '../../../adapters/aws-lambda/regional-handler.ts';
import type { LambdaContext } from '../../../adapters/aws-lambda/lambda-types.ts';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';

const repo = writeRegionalModelRepo(['spam-regional']);
let fn: RegionalLambda;
const context: LambdaContext = { awsRequestId: 'test', functionName: 'regional', getRemainingTimeInMillis: () => 30_000 };
const payload = (extra: Record<string, unknown> = {}) => ({ model: 'spam-regional', text: 'Subject: win money now\n\nclick here', requestId: 'r-1', deadlineMs: Date.now() + 10_000, ...extra });

beforeAll(() => {
  fn = createRegionalLambda({ models: new FsModelSource(repo.root), executionProviders: ['cpu'] });
});
afterAll(async () => {
  await fn.predictor.close();
  repo.cleanup();
});

/** The error a rejected handler produces, as Lambda would report it. */
async function functionError(event: unknown): Promise<{ errorType: string; errorMessage: string }> {
  try {
    await fn.handler(event, context);
  } catch (error) {
    return { errorType: (error as Error).name, errorMessage: (error as Error).message };
  }
  throw new Error('expected a function error');
}

describe('regional Lambda handler', () => {
  it('answers label, scores, model identity, timings and the execution provider', async () => {
    const answer = (await fn.handler(payload(), context)) as Record<string, unknown> & { scores: Record<string, number> };
    expect(answer.model).toEqual({ name: 'spam-regional', version: '1', sha256: repo.sha256['spam-regional'] });
    expect(answer.executionProvider).toBe('cpu');
    expect(answer.requestId).toBe('r-1');
    expect(answer.coldStart).toBe(true);
    expect(Object.keys(answer.scores)).toEqual(['ham', 'spam']);
    expect(answer.scores.ham! + answer.scores.spam!).toBeCloseTo(1, 5);
    expect(answer.label).toBe(answer.scores.spam! > answer.scores.ham! ? 'spam' : 'ham');
    expect(answer.timings).toMatchObject({ infer: expect.any(Number), total: expect.any(Number) });
  });

  it('loads the model once per container and gives the same answer for text and its ids', async () => {
    const a = (await fn.handler(payload(), context)) as { coldStart: boolean; scores: Record<string, number> };
    expect(a.coldStart).toBe(false);
    const model = await (await import('../../../core/serving/loaded-model.ts')).loadModel(
      new FsModelSource(repo.root),
      'spam-regional',
      '1',
      fn.engines,
      ['ort-node'],
    );
    const ids = Array.from(model.preprocessor.toIds(payload().text));
    await model.release();
    const b = (await fn.handler(payload({ text: undefined, ids }), context)) as { scores: Record<string, number> };
    expect(b.scores.spam).toBeCloseTo(a.scores.spam!, 6);
  });

  it.each([
    ['a non-object', 'hello', /JSON object/],
    ['no model', { text: 'x', requestId: 'r', deadlineMs: 1 }, /"model"/],
    ['both text and ids', payload({ ids: [1] }), /"text" or "ids", not both/],
    ['neither text, ids nor fields', payload({ text: undefined }), /"text", "ids" or "fields"/],
    ['fields that are not strings or numbers', payload({ fields: { origin: true } }), /fields\.origin/],
    ['features that are not arrays of numbers', payload({ features: { x: [1, 'a'] } }), /features\.x/],
    ['features of an input the model lacks', payload({ features: { nope: [1] } }), /no feature input "nope"/],
    ['empty text', payload({ text: '  ' }), /empty/],
    ['ids out of range', payload({ text: undefined, ids: [1, 99999] }), /ids\[1\]/],
    ['an unknown field', payload({ extra: 1 }), /unknown field/],
    ['a missing deadline', { model: 'spam-regional', text: 'x', requestId: 'r' }, /deadlineMs/],
  ])('refuses %s with InvalidRequest', async (_what, event, message) => {
    const error = await functionError(event);
    expect(error.errorType).toBe('InvalidRequest');
    expect(error.errorMessage).toMatch(message);
  });

  it('names unknown models and versions, and refuses work past the deadline', async () => {
    expect(await functionError(payload({ model: 'nope' }))).toMatchObject({ errorType: 'ModelNotFound', errorMessage: expect.stringMatching(/spam-regional/) });
    expect(await functionError(payload({ version: '9' }))).toMatchObject({ errorType: 'ModelNotFound' });
    expect(await functionError(payload({ deadlineMs: Date.now() - 1 }))).toMatchObject({ errorType: 'DeadlineExceeded' });
  });

  it('asks for CUDA only where the host shows a GPU, or where configured', () => {
    expect(executionProvidersFor({}, false)).toEqual(['cpu']);
    expect(executionProvidersFor({}, true)).toEqual(['cuda', 'cpu']);
    expect(executionProvidersFor({ EDGEINFER_EXECUTION_PROVIDERS: 'cpu' }, true)).toEqual(['cpu']);
    expect(() => executionProvidersFor({ EDGEINFER_EXECUTION_PROVIDERS: 'tpu' })).toThrow(/tpu/);
  });
});
