// The model fingerprint of prediction keys binds what decides an answer and its reading,
// and nothing else; cached values are checked against the model's labels.
import { describe, expect, it } from 'vitest';
import { modelFingerprint } from '../../../core/cache/model-identity.ts';
import { isAnswerFor, isClassificationOf } from '../../../core/cache/prediction-values.ts';
import { normaliseManifest, type ModelManifest } from '../../../core/model/manifest.ts';

const json = () => ({
  name: 'clf', version: '1', sha256: 'a'.repeat(64),
  inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3], source: 'request' }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2] }],
  output: { kind: 'classification', tensor: 'y', labels: ['no', 'yes'], activation: 'softmax' },
  cascade: { threshold: 0.8 },
  cache: { ttlSeconds: 60 },
});
const fp = (edit: (m: any) => void = () => {}): string => {
  const m = json() as any;
  edit(m);
  return modelFingerprint(normaliseManifest(m, 'test') as ModelManifest);
};

describe('modelFingerprint', () => {
  it('changes with the graph, labels, activation, output kind, inputs and preprocessing params', () => {
    const base = fp();
    const changed = [
      fp((m) => (m.sha256 = 'b'.repeat(64))),
      fp((m) => (m.output.labels = ['yes', 'no'])),
      fp((m) => (m.output.activation = 'none')),
      fp((m) => (m.output = { kind: 'raw' })),
      fp((m) => Object.assign(m.inputs[0], { optional: true, default: 0 })),
      fp((m) => Object.assign(m.inputs[0], { optional: true, default: 1 })),
      fp((m) => (m.inputs = [{ name: 'x', dtype: 'float32', shape: [1, 3], source: 'constant', value: 1 }])),
      fp((m) => (m.version = '2')),
      fp((m) => {
        m.inputs = [{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'ids' }];
        m.preprocessing = { id: 'email-hash', version: 1, params: { buckets: 64 } };
      }),
      fp((m) => {
        m.inputs = [{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'ids' }];
        m.preprocessing = { id: 'email-hash', version: 1, params: { buckets: 128 } };
      }),
    ];
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1);
  });

  it('stays when only the threshold, TTL or metrics change', () => {
    expect(fp((m) => (m.cascade = { threshold: 0.5 }))).toBe(fp());
    expect(fp((m) => (m.cache = { ttlSeconds: 5 }))).toBe(fp());
    expect(fp((m) => (m.metrics = { accuracy: 0.9 }))).toBe(fp());
  });
});

describe('isClassificationOf', () => {
  const labels = ['ham', 'spam'];
  it('accepts a classification over exactly the labels', () => {
    expect(isClassificationOf({ label: 'spam', scores: { ham: 0.2, spam: 0.8 }, confidence: 0.8 }, labels)).toBe(true);
  });
  it.each([
    ['a regional outcome', { ok: true, prediction: { label: 'spam', scores: { ham: 0.2, spam: 0.8 } } }],
    ['a label contradicting its scores', { label: 'ham', scores: { ham: 0.2, spam: 0.8 }, confidence: 0.2 }],
    ['an unknown label', { label: 'eggs', scores: { ham: 0.2, spam: 0.8 }, confidence: 0.8 }],
    ['missing scores', { label: 'spam', scores: { spam: 0.8 }, confidence: 0.8 }],
    ['a score above 1', { label: 'spam', scores: { ham: 0.2, spam: 1e308 }, confidence: 1e308 }],
    ['an object label', { label: { x: 1 }, scores: { ham: 0.2, spam: 0.8 }, confidence: 0.8 }],
    ['null', null],
    ['a number', 123],
    ['a string', 'hello'],
    ['an array', [1, 2, 3]],
    ['an empty object', {}],
  ])('refuses %s', (_what, value) => {
    expect(isClassificationOf(value, labels)).toBe(false);
  });
});

describe('isAnswerFor (what the edge path caches, by output kind)', () => {
  const classification = { kind: 'classification' as const, tensor: 'y', labels: ['a', 'b'], activation: 'none' as const };
  const regression = { kind: 'regression' as const, tensor: 'y', names: ['lat', 'lon'] };
  it('accepts each kind in its own shape only', () => {
    expect(isAnswerFor({ label: 'b', scores: { a: 0.1, b: 0.9 }, confidence: 0.9 }, classification, ['y'])).toBe(true);
    expect(isAnswerFor({ label: 'b', scores: { a: 0.1, b: 0.9 }, confidence: 0.9, batch: [{ label: 'b', scores: { a: 0.1, b: 0.9 } }, { label: 'a', scores: { a: 0.6, b: 0.4 } }] }, classification, ['y'])).toBe(true);
    expect(isAnswerFor({ kind: 'regression', values: [1.5, -2], named: { lat: 1.5, lon: -2 } }, regression, ['y'])).toBe(true);
    expect(isAnswerFor({ kind: 'raw', outputs: { y: { datatype: 'FP32', shape: [1, 2], data: [1, 2] } } }, { kind: 'raw' }, ['y'])).toBe(true);
    // Another kind's value under a key is a miss.
    expect(isAnswerFor({ kind: 'regression', values: [0.9] }, classification, ['y'])).toBe(false);
    expect(isAnswerFor({ label: 'b', scores: { a: 0.1, b: 0.9 }, confidence: 0.9 }, regression, ['y'])).toBe(false);
    expect(isAnswerFor({ kind: 'raw', outputs: {} }, regression, ['y'])).toBe(false);
  });
  it.each([
    ['a batch row with a wrong label', { label: 'b', scores: { a: 0.1, b: 0.9 }, confidence: 0.9, batch: [{ label: 'a', scores: { a: 0.1, b: 0.9 } }, { label: 'a', scores: { a: 0.6, b: 0.4 } }] }, classification],
    ['non-finite regression values', { kind: 'regression', values: [null] }, regression],
    ['a value that is not the one value', { kind: 'regression', values: [1], value: 2 }, { kind: 'regression' as const, tensor: 'y' }],
    ['names that do not match', { kind: 'regression', values: [1, 2], named: { lat: 2, lon: 1 } }, regression],
    ['a raw output the model does not declare', { kind: 'raw', outputs: { z: { datatype: 'FP32', shape: [1], data: [1] } } }, { kind: 'raw' as const }],
    ['raw data of another size than its shape', { kind: 'raw', outputs: { y: { datatype: 'FP32', shape: [1, 3], data: [1] } } }, { kind: 'raw' as const }],
  ])('refuses %s', (_what, value, output) => {
    expect(isAnswerFor(value, output, ['y'])).toBe(false);
  });
});
