// The in-memory model repository edge bundles read: listing, reading, and a failed read that
// names what is embedded; a verified load through it (sha256 checked) of the real edge model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesFromBase64, EmbeddedModelSource, embeddedBase64, embeddedText, verifiedAtBuild } from '../../../core/model/embedded-source.ts';
import { loadVerifiedModel } from '../../../core/model/repository.ts';

const root = new URL('../../../models/spam-edge/1/', import.meta.url);
const files = {
  'spam-edge/1/model.json': new Uint8Array(readFileSync(new URL('model.json', root))),
  'spam-edge/1/model.onnx': new Uint8Array(readFileSync(new URL('model.onnx', root))),
  'spam-edge/10/model.json': new Uint8Array(readFileSync(new URL('model.json', root))),
  'other/2/model.json': new TextEncoder().encode('{}'),
};

describe('EmbeddedModelSource', () => {
  it('lists models and versions (numeric order) from the embedded model.json paths', async () => {
    expect(await new EmbeddedModelSource(files).list()).toEqual([
      { name: 'other', versions: ['2'] },
      { name: 'spam-edge', versions: ['1', '10'] },
    ]);
  });

  it('loads and verifies the real edge model from memory', async () => {
    const model = await loadVerifiedModel(new EmbeddedModelSource(files), 'spam-edge', '1');
    expect(model.manifest.name).toBe('spam-edge');
    expect(model.bytes.length).toBe(files['spam-edge/1/model.onnx'].length);
  });

  it('fails a read of a file that was not embedded, naming what is', async () => {
    const source = new EmbeddedModelSource({ 'a/1/model.json': new Uint8Array() });
    await expect(source.read('a/1/model.onnx')).rejects.toThrow('not embedded in this build (embedded: a/1/model.json)');
    expect(source.describe('a/1/model.onnx')).toBe('embedded:a/1/model.onnx');
  });

  it('serves files embedded as text or base64 (what the build writes) as their bytes, and loads the real model verified from them', async () => {
    const json = files['spam-edge/1/model.json'];
    const graph = files['spam-edge/1/model.onnx'];
    const source = new EmbeddedModelSource({
      'spam-edge/1/model.json': embeddedText(new TextDecoder().decode(json)),
      'spam-edge/1/model.onnx': embeddedBase64(Buffer.from(graph).toString('base64')),
    });
    expect(await source.read('spam-edge/1/model.json')).toEqual(json);
    expect(source.verifiedDigest('spam-edge/1/model.onnx')).toBeUndefined();
    // The sha256 in model.json is checked against the decoded graph: a wrong byte fails the load.
    const model = await loadVerifiedModel(source, 'spam-edge', '1');
    expect(model.bytes).toEqual(graph);
    const corrupt = Buffer.from(graph);
    corrupt[100] = (corrupt[100] as number) ^ 1;
    const bad = new EmbeddedModelSource({ 'spam-edge/1/model.json': embeddedText(new TextDecoder().decode(json)), 'spam-edge/1/model.onnx': embeddedBase64(corrupt.toString('base64')) });
    await expect(loadVerifiedModel(bad, 'spam-edge', '1')).rejects.toThrow(/sha256 mismatch/);
  });

  it('decodes base64 without Buffer', () => {
    expect(Array.from(bytesFromBase64('AP8BgA=='))).toEqual([0, 255, 1, 128]);
    // Longer than one copied chunk (4,096 bytes) and not a multiple of it: every byte lands.
    const bytes = Uint8Array.from({ length: 10_001 }, (_, i) => (i * 31 + 7) & 255);
    expect(Array.from(bytesFromBase64(Buffer.from(bytes).toString('base64')))).toEqual(Array.from(bytes));
  });
});

describe('a graph verified at build time and not embedded (micro-only bundles)', () => {
  const manifest = files['spam-edge/1/model.json'];
  const sha = (JSON.parse(new TextDecoder().decode(manifest)) as { sha256: string }).sha256;

  it('loads with no bytes and no hashing when the build verified the declared sha256', async () => {
    const source = new EmbeddedModelSource({ 'spam-edge/1/model.json': manifest, 'spam-edge/1/model.onnx': verifiedAtBuild(sha) });
    const model = await loadVerifiedModel(source, 'spam-edge', '1');
    expect(model.manifest.sha256).toBe(sha);
    expect(model.bytes.length).toBe(0);
    // Reading the graph names why it is absent, so an engine that needs bytes says so.
    await expect(source.read('spam-edge/1/model.onnx')).rejects.toThrow(/verified and compiled to a micro module at build time/);
  });

  it('refuses a model.json whose sha256 is not the one the build verified', async () => {
    const source = new EmbeddedModelSource({ 'spam-edge/1/model.json': manifest, 'spam-edge/1/model.onnx': verifiedAtBuild('0'.repeat(64)) });
    await expect(loadVerifiedModel(source, 'spam-edge', '1')).rejects.toThrow(/embedded:spam-edge\/1\/model\.onnx: sha256 mismatch: model\.json declares [0-9a-f]{64} but the build verified 0{64}; rebuild/);
  });
});
