// model.json v2: the normalised signature, the first format mapped onto it unchanged (the
// two spam model.json files of the repository), and refusals that name file, field and
// what is expected.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { declaredInputShapes, ManifestError, normaliseManifest, parseManifest, type ModelJson } from '../../../core/model/manifest.ts';

const read = (name: string) => readFileSync(new URL(`../../../models/${name}/1/model.json`, import.meta.url), 'utf8');

const base = (): ModelJson => ({
  name: 'hey_jarvis',
  version: '1',
  file: 'model.onnx',
  sha256: 'a'.repeat(64),
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 16, 96], source: 'request' }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
  output: { kind: 'classification', tensor: 'y', labels: ['other', 'hey_jarvis'], activation: 'none' },
});

const parse = (json: unknown) => normaliseManifest(json, 'models/m/1/model.json');
const refusal = (json: unknown): string => {
  try {
    parse(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as Error).message;
  }
  throw new Error('expected the manifest to be refused');
};

describe('parseManifest: the first model.json format', () => {
  for (const name of ['spam-edge', 'spam-regional']) {
    it(`${name}: maps to the normalised form (text input "ids", classification of "probabilities")`, () => {
      const raw = JSON.parse(read(name)) as Record<string, any>;
      const m = parseManifest(read(name), `${name}/1/model.json`);
      expect(m.name).toBe(name);
      expect(m.sha256).toBe(raw.sha256);
      expect(m.inputs).toEqual([{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'ids', optional: false }]);
      expect(m.outputs).toEqual(raw.outputs);
      expect(m.output).toEqual({ kind: 'classification', tensor: 'probabilities', labels: ['ham', 'spam'], activation: 'none' });
      expect(m.labels).toEqual(['ham', 'spam']);
      expect(m.preprocessing).toEqual(raw.preprocessing);
      expect(m.cascade.threshold).toBe(raw.cascade.threshold);
      expect(m.cascade.regional).toBe(raw.cascade.regional);
      expect(m.cache).toEqual(raw.cache);
      expect(m.engine).toBe(raw.engine);
      expect(m.role).toBe(raw.role ?? 'any');
      expect(m.batch).toEqual({ max: 1 });
      expect(m.warmup).toEqual([]);
      expect(m.metrics).toEqual(raw.metrics);
      // The normalised form is itself a valid model.json and parses to the same thing.
      expect(normaliseManifest(JSON.parse(JSON.stringify(m)), 'again')).toEqual(m);
    });
  }
});

describe('parseManifest: signature v2', () => {
  it('reads every input source, optional defaults, batch, warmup, role and cascade', () => {
    const m = parse({
      ...base(),
      role: 'edge',
      inputs: [
        { name: 'x', dtype: 'float32', shape: [-1, 16, 96], source: 'request' },
        { name: 'rate', dtype: 'float32', shape: [1], source: 'request', optional: true, default: 16000 },
        { name: 'input_ids', dtype: 'int64', shape: [1, -1], source: 'text', text: 'input_ids' },
        { name: 'feats', dtype: 'float32', shape: [1, 2], source: 'features', features: ['origin.delay_rate', 'route.volume_30d'], default: 0 },
        { name: 'emb', dtype: 'float32', shape: [1, 8], source: 'embedding', view: 'airport_embedding' },
        { name: 'dense', dtype: 'float32', shape: [1, 3], source: 'fields', fields: ['distance', 'hour', 'month'] },
        { name: 'state', dtype: 'float32', shape: [2, 1, 4], source: 'constant', value: 0 },
      ],
      preprocessing: { id: 'hf-tokenizer', version: 1, params: { file: 'tokenizer.json', maxLength: 128 } },
      batch: { max: 8 },
      warmup: [{ inputs: { x: { data: [0.1], fill: true } }, text: 'hello' }],
      cascade: { threshold: 0.9, regional: 'big_jarvis' },
    });
    expect(m.inputs.map((i) => i.source)).toEqual(['request', 'request', 'text', 'features', 'embedding', 'fields', 'constant']);
    expect(m.inputs[1]).toMatchObject({ optional: true, default: 16000 });
    expect(m.batch.max).toBe(8);
    expect(m.role).toBe('edge');
    expect(m.cascade).toEqual({ threshold: 0.9, regional: 'big_jarvis' });
    expect(m.warmup[0]?.inputs.x).toEqual({ data: [0.1], fill: true });
    expect(Object.getPrototypeOf(m.warmup[0]?.inputs)).toBeNull();
  });

  it('defaults: output raw, role any, batch 1, no warmup, no cascade', () => {
    const { output: _output, ...rest } = base();
    const m = parse(rest);
    expect(m.output).toEqual({ kind: 'raw' });
    expect(m.labels).toEqual([]);
    expect(m.role).toBe('any');
    expect(m.batch.max).toBe(1);
    expect(m.cascade).toEqual({ threshold: null });
  });

  it('accepts one unit for two labels (sigmoid logit or probability), and regression names', () => {
    expect(parse({ ...base(), output: { kind: 'classification', tensor: 'y', labels: ['no', 'yes'], activation: 'sigmoid' } }).output).toMatchObject({ activation: 'sigmoid' });
    const r = parse({ ...base(), outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2] }], output: { kind: 'regression', tensor: 'y', names: ['delay', 'risk'] } });
    expect(r.output).toEqual({ kind: 'regression', tensor: 'y', names: ['delay', 'risk'] });
  });

  it('labels that are Object.prototype keys are plain labels', () => {
    const m = parse({ ...base(), outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2] }], output: { kind: 'classification', tensor: 'y', labels: ['__proto__', 'constructor'] } });
    expect(m.labels).toEqual(['__proto__', 'constructor']);
  });
});

describe('parseManifest: refusals name the file, the field and what is expected', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', undefined, /models\/m\/1\/model.json: is not valid JSON/],
    ['a hostile name', { ...base(), name: "index.mjs';globalThis.PWNED=1;'" }, /"name" must match \[A-Za-z0-9\]/],
    ['a line separator in a name', { ...base(), name: 'a\u2028b' }, /"name" must match/],
    ['a version that is a number', { ...base(), version: 1 }, /"version" must be a string/],
    ['an unknown dtype', { ...base(), inputs: [{ name: 'x', dtype: 'complex64', shape: [1], source: 'request' }] }, /"inputs\[0\].dtype" must be one of bool, uint8, int8/],
    ['an unknown source', { ...base(), inputs: [{ name: 'x', dtype: 'float32', shape: [1], source: 'camera' }] }, /"inputs\[0\].source" must be one of request, text/],
    ['text without preprocessing', { ...base(), inputs: [{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'ids' }] }, /"inputs\[0\]" has source "text" but model.json declares no "preprocessing"/],
    ['a product the preprocessing lacks', { ...base(), preprocessing: { id: 'email-hash', version: 1, params: {} }, inputs: [{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'input_ids' }] }, /"inputs\[0\].text" email-hash produces "ids"/],
    ['optional without default', { ...base(), inputs: [{ name: 'x', dtype: 'float32', shape: [1], source: 'request', optional: true }] }, /"inputs\[0\].default" is required when "optional" is true/],
    ['a constant of the wrong size', { ...base(), inputs: [{ name: 's', dtype: 'float32', shape: [2, 2], source: 'constant', value: [1, 2, 3] }] }, /"inputs\[0\].value" must hold 4 numbers/],
    ['fields not matching the shape', { ...base(), inputs: [{ name: 'd', dtype: 'float32', shape: [1, 3], source: 'fields', fields: ['a', 'b'] }] }, /"inputs\[0\].shape" last dimension must be 2/],
    ['duplicate input names', { ...base(), inputs: [base().inputs[0], base().inputs[0]] }, /"inputs\[1\].name" repeats "x"/],
    ['duplicate labels', { ...base(), outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2] }], output: { kind: 'classification', tensor: 'y', labels: ['a', 'a'] } }, /"output.labels" \[1\] repeats the label "a"/],
    ['labels not matching the units', { ...base(), outputs: [{ name: 'y', dtype: 'float32', shape: [1, 3] }] }, /"output.labels" has 2 labels but "y" has 3 values per row/],
    ['an output tensor that does not exist', { ...base(), output: { kind: 'classification', tensor: 'z', labels: ['a', 'b'] } }, /"output.tensor" must name one of the outputs \("y"\)/],
    ['an unknown activation', { ...base(), output: { kind: 'classification', tensor: 'y', labels: ['a', 'b'], activation: 'relu' } }, /"output.activation" must be "none"/],
    ['cascade on a raw model', { ...base(), output: { kind: 'raw' }, cascade: { threshold: 0.5, regional: 'big' } }, /"cascade.regional" needs a classification output/],
    ['a batch limit out of bounds', { ...base(), batch: { max: 1e9 } }, /"batch.max" must be an integer in \[1, 1024\]/],
    ['warmup naming an unknown input', { ...base(), warmup: [{ inputs: { nope: { data: [1], fill: true } } }] }, /"warmup\[0\].inputs.nope" names no declared input/],
    ['warmup data of the wrong size', { ...base(), inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2], source: 'request' }], warmup: [{ inputs: { x: { data: [1] } } }] }, /"warmup\[0\].inputs.x.data" must hold 2 numbers/],
    ['a typo in a top-level field', { ...base(), ouptut: { kind: 'raw' } }, /"ouptut" is not a model.json field/],
    ['labels beside output that differ', { ...base(), labels: ['x', 'y'] }, /"labels" differs from "output.labels"/],
    ['legacy labels that repeat', { ...base(), output: undefined, probabilitiesOutput: 'y', labels: ['spam', 'spam'] }, /"labels" \[1\] repeats the label "spam"/],
    ['a ttl out of bounds', { ...base(), cache: { ttlSeconds: 1e12 } }, /"cache.ttlSeconds" must be an integer in \[0, 31536000\]/],
  ];
  for (const [what, json, message] of cases) {
    it(what, () => {
      if (json === undefined) {
        expect(() => parseManifest('{nope', 'models/m/1/model.json')).toThrow(message);
        return;
      }
      expect(refusal(JSON.parse(JSON.stringify(json)))).toMatch(message);
    });
  }

  it('every refusal starts with the file it read', () => {
    for (const [, json] of cases) if (json !== undefined) expect(refusal(JSON.parse(JSON.stringify(json)))).toMatch(/^models\/m\/1\/model.json: /);
  });
});

describe('declaredInputShapes: what the micro compiler specialises on', () => {
  it('keeps inputs with a fixed dim (-1 stays variable), leaves out fully variable ones', () => {
    const manifest = parse({
      ...base(),
      inputs: [
        { name: 'input', dtype: 'float32', shape: [1, 576], source: 'request' },
        { name: 'state', dtype: 'float32', shape: [2, -1, 128], source: 'request' },
        { name: 'any', dtype: 'float32', shape: [-1, -1], source: 'request' },
        { name: 'sr', dtype: 'int64', shape: [], source: 'constant', value: 16000 },
      ],
    });
    const shapes = declaredInputShapes(manifest);
    expect({ ...shapes }).toEqual({ input: [1, 576], state: [2, -1, 128] });
    expect(Object.getPrototypeOf(shapes)).toBeNull();
  });
});
