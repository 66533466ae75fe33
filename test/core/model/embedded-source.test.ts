// The in-memory model repository edge bundles read: listing, reading, and a failed read that
// names what is embedded; a verified load through it (sha256 checked) of the real edge model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesFromBase64, EmbeddedModelSource } from '../../../core/model/embedded-source.ts';
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

  it('decodes base64 without Buffer', () => {
    expect(Array.from(bytesFromBase64('AP8BgA=='))).toEqual([0, 255, 1, 128]);
  });
});
