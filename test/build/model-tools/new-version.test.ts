// new-version.ts: a derived version (quantize, prune) is a loadable copy of its source with the
// new graph, its sha256 and a note of how it was produced; the source stays untouched and a
// tampered source or an existing target is refused in one line.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextVersion, parseModelRef, readModelVersion, writeNewVersion } from '../../../build/model-tools/new-version.ts';
import { ModelToolError } from '../../../build/model-tools/tool-errors.ts';
import { REPO_ROOT } from '../../../build/pipeline.ts';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { loadVerifiedModel } from '../../../core/model/repository.ts';

function tempRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-new-version-'));
  cpSync(join(REPO_ROOT, 'models/spam-edge/1'), join(root, 'spam-edge/1'), { recursive: true });
  writeFileSync(join(root, 'spam-edge/1/tokenizer.json'), '{"side":"file"}\n');
  return root;
}

describe('new-version', () => {
  it('parses name[@version] and refuses bad names', () => {
    expect(parseModelRef('spam-edge')).toEqual({ name: 'spam-edge' });
    expect(parseModelRef('spam-edge@3')).toEqual({ name: 'spam-edge', version: '3' });
    expect(() => parseModelRef('../etc@1')).toThrow(ModelToolError);
    expect(() => parseModelRef('a@b/c')).toThrow(ModelToolError);
  });

  it('writes <next>/ with the new graph, its sha256, side files and a derivation note; the server loads it', async () => {
    const root = tempRepo();
    const source = await readModelVersion(parseModelRef('spam-edge'), root);
    expect(source.version).toBe('1');
    const graph = source.onnx.slice(); // the same graph: real derived graphs are tested with quantize
    const written = await writeNewVersion({
      source,
      onnx: graph,
      derivation: { tool: 'test-tool', options: { mode: 'x' }, summary: 'copied by a test' },
      metrics: { agreement: 1 },
      now: () => new Date('2026-12-02T00:00:00Z'),
    });
    expect(written.version).toBe('2');
    expect(written.sha256).toBe(createHash('sha256').update(graph).digest('hex'));
    expect(readdirSync(join(root, 'spam-edge')).sort()).toEqual(['1', '2']); // no staging folder left
    expect(readFileSync(join(root, 'spam-edge/2/tokenizer.json'), 'utf8')).toBe('{"side":"file"}\n');
    const m = JSON.parse(readFileSync(join(root, 'spam-edge/2/model.json'), 'utf8'));
    expect(m.version).toBe('2');
    expect(m.metrics['test-tool']).toEqual({ agreement: 1 });
    expect(m.metrics.testAccuracy).toBe(source.raw.metrics && (source.raw.metrics as Record<string, unknown>).testAccuracy);
    expect(m.training.derivations.at(-1)).toMatchObject({ tool: 'test-tool', from: 'spam-edge@1', fromSha256: source.manifest.sha256, at: '2026-12-02T00:00:00.000Z' });
    expect(m.description).toMatch(/^copied by a test, from spam-edge@1/);
    const loaded = await loadVerifiedModel(new FsModelSource(root), 'spam-edge', '2');
    expect(loaded.manifest.version).toBe('2');
    // The source is untouched; a second derivation of the derived one chains its note.
    expect(JSON.parse(readFileSync(join(root, 'spam-edge/1/model.json'), 'utf8')).version).toBe('1');
    const again = await writeNewVersion({ source: await readModelVersion({ name: 'spam-edge' }, root), onnx: graph, derivation: { tool: 'b', options: {}, summary: 'b' } });
    expect(again.version).toBe('3');
    expect((again.manifest.training as { derivations: Array<{ tool: string }> }).derivations.map((d) => d.tool)).toEqual(['test-tool', 'b']);
    expect(await nextVersion(root, 'spam-edge')).toBe('4');
  });

  it('refuses an existing version without force, a tampered source, and an unknown model', async () => {
    const root = tempRepo();
    const source = await readModelVersion({ name: 'spam-edge', version: '1' }, root);
    const derivation = { tool: 't', options: {}, summary: 's' };
    await writeNewVersion({ source, onnx: source.onnx, derivation, version: '7' });
    await expect(writeNewVersion({ source, onnx: source.onnx, derivation, version: '7' })).rejects.toThrow(/exists already/);
    await expect(writeNewVersion({ source, onnx: source.onnx, derivation, version: '7', force: true })).resolves.toMatchObject({ version: '7' });
    await expect(writeNewVersion({ source, onnx: source.onnx, derivation, version: '1' })).rejects.toThrow(/source version/);
    writeFileSync(join(root, 'spam-edge/1/model.onnx'), 'tampered');
    await expect(readModelVersion({ name: 'spam-edge', version: '1' }, root)).rejects.toThrow(/does not match the sha256/);
    await expect(readModelVersion({ name: 'nope' }, root)).rejects.toThrow(/no model "nope"/);
    await expect(readModelVersion({ name: 'spam-edge', version: '9' }, root)).rejects.toThrow(/no version "9"/);
  });
});
