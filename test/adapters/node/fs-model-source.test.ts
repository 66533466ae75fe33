// FsModelSource over a real temporary model repository: listing skips training/ and
// folders without model.json, loadVerifiedModel accepts the intact model (and ort-node runs
// it), and refuses one whose bytes were altered with an error naming the file.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_ROOT, FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { createOrtNodeEngine } from '../../../core/engine/ort-node/ort-node-engine.ts';
import { ModelLoadError, latestVersions, loadVerifiedModel, sha256Hex } from '../../../core/model/repository.ts';
import { buildQuantizedBagModel } from '../../core/engine/quantized-bag-graph.ts';

const model = buildQuantizedBagModel();
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgeinfer-models-'));
  for (const version of ['1', '2', '10']) {
    const dir = join(root, 'quantized-bag', version);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), model.bytes);
    const manifest = { ...model.manifest, version, sha256: await sha256Hex(model.bytes) };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
  }
  mkdirSync(join(root, 'quantized-bag', 'draft'), { recursive: true }); // no model.json
  mkdirSync(join(root, 'training', '1'), { recursive: true });
  writeFileSync(join(root, 'training', '1', 'model.json'), '{}');
  mkdirSync(join(root, 'empty-model', '1'), { recursive: true });
  writeFileSync(join(root, 'README.md'), 'not a model');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('FsModelSource', () => {
  it('defaults to the repository models/ folder', () => {
    const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
    expect(DEFAULT_MODELS_ROOT.replace(/\/$/, '')).toBe(join(repoRoot, 'models'));
    expect(new FsModelSource().root).toBe(join(repoRoot, 'models'));
  });

  it('lists <name>/<version> folders with a model.json, skipping training/ and the rest', async () => {
    const source = new FsModelSource(root);
    expect(await source.list()).toEqual([{ name: 'quantized-bag', versions: ['1', '2', '10'] }]);
    expect(await latestVersions(source)).toEqual([{ name: 'quantized-bag', version: '10' }]);
  });

  it('loads a verified model that ort-node then runs', async () => {
    const source = new FsModelSource(root);
    const verified = await loadVerifiedModel(source, 'quantized-bag', '2');
    expect(verified.manifest.version).toBe('2');
    expect(Array.from(verified.bytes)).toEqual(Array.from(model.bytes));
    const engine = await createOrtNodeEngine();
    const session = await engine.load(verified.bytes, verified.manifest);
    const ids = Int32Array.from([1, 2, 3, 500]);
    const out = await session.run({ ids: { dtype: 'int32', dims: [1, 4], data: ids } });
    const expected = model.reference(ids).probabilities;
    const got = out.probabilities!.data as Float32Array;
    expect(Math.abs(got[0]! - expected[0]!)).toBeLessThan(1e-5);
    expect(Math.abs(got[1]! - expected[1]!)).toBeLessThan(1e-5);
    await session.release();
  });

  it('refuses a model whose bytes were altered, naming the file and "sha256 mismatch"', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'edgeinfer-tampered-'));
    try {
      cpSync(join(root, 'quantized-bag', '1'), join(copy, 'quantized-bag', '1'), { recursive: true });
      const file = join(copy, 'quantized-bag', '1', 'model.onnx');
      const bytes = readFileSync(file);
      const middle = bytes.length >> 1;
      bytes[middle] = bytes[middle]! ^ 0x01; // flip one bit in the middle of the weights
      writeFileSync(file, bytes);
      const error = await loadVerifiedModel(new FsModelSource(copy), 'quantized-bag', '1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelLoadError);
      expect((error as ModelLoadError).file).toBe(file);
      expect((error as Error).message).toContain(`${file}: sha256 mismatch: model.json declares ${await sha256Hex(model.bytes)}`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('names the missing file when a model.json or .onnx is absent', async () => {
    const source = new FsModelSource(root);
    await expect(loadVerifiedModel(source, 'quantized-bag', '7')).rejects.toThrow(
      `${join(root, 'quantized-bag', '7', 'model.json')}: cannot read model.json (ENOENT`,
    );
  });

  it('refuses paths that leave the repository', async () => {
    const source = new FsModelSource(join(root, 'quantized-bag'));
    await expect(source.read('../README.md')).rejects.toThrow('is outside the model repository');
    await expect(source.read('/etc/passwd')).rejects.toThrow('is outside the model repository');
    expect(new TextDecoder().decode(await new FsModelSource(root).read('README.md'))).toBe('not a model');
  });

  // #17 item 14: the path check resolves real paths, so a symlink cannot lead out of the repository.
  it('refuses a model file symlinked to outside the repository, and accepts one linked inside it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'edgeinfer-outside-'));
    const repo = mkdtempSync(join(tmpdir(), 'edgeinfer-symlinked-'));
    try {
      writeFileSync(join(outside, 'secret.onnx'), 'not yours');
      const dir = join(repo, 'quantized-bag', '1');
      cpSync(join(root, 'quantized-bag', '1'), dir, { recursive: true });
      cpSync(join(dir, 'model.onnx'), join(repo, 'shared.onnx'));
      rmSync(join(dir, 'model.onnx'));
      symlinkSync(join(outside, 'secret.onnx'), join(dir, 'model.onnx'));
      const source = new FsModelSource(repo);
      await expect(source.read('quantized-bag/1/model.onnx')).rejects.toThrow(/resolves \(through a symlink\) outside the model repository/);
      await expect(loadVerifiedModel(source, 'quantized-bag', '1')).rejects.toThrow(/outside the model repository/);
      // A link to a file inside the repository is fine (a graph shared between versions).
      rmSync(join(dir, 'model.onnx'));
      symlinkSync(join(repo, 'shared.onnx'), join(dir, 'model.onnx'));
      expect((await loadVerifiedModel(source, 'quantized-bag', '1')).bytes.byteLength).toBe(model.bytes.byteLength);
    } finally {
      rmSync(outside, { recursive: true, force: true });
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
