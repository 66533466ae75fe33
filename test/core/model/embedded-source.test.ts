// The in-memory model repository edge bundles read: listing, reading, and a failed read that
// names what is embedded; a verified load through it (sha256 checked) of the real edge model.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesFromBase64, EmbeddedModelSource, embeddedBase64, embeddedManifest, embeddedText, verifiedAtBuild } from '../../../core/model/embedded-source.ts';
import { parseManifest } from '../../../core/model/manifest.ts';
import { manifestLiteral } from '../../../build/pipeline.ts';
import { loadVerifiedModel, readManifest } from '../../../core/model/repository.ts';

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

describe('a model.json validated at build time (embedded with its normalised manifest)', () => {
  const text = new TextDecoder().decode(files['spam-edge/1/model.json']);
  const sha = (JSON.parse(text) as { sha256: string }).sha256;

  it('gives, for every model.json of the repository, a literal equal to what parseManifest gives', () => {
    const models = new URL('../../../models/', import.meta.url);
    let checked = 0;
    for (const name of readdirSync(models)) {
      if (!statSync(new URL(`${name}/`, models)).isDirectory()) continue;
      for (const version of readdirSync(new URL(`${name}/`, models))) {
        const path = new URL(`${name}/${version}/model.json`, models);
        if (!existsSync(path)) continue;
        const json = readFileSync(path, 'utf8');
        const literal = manifestLiteral(json, path.pathname);
        expect(literal, path.pathname).toBeDefined();
        // eval of the literal, as the bundle's function returns it
        expect(new Function(`return (${literal as string});`)(), path.pathname).toEqual(parseManifest(json, path.pathname));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3);
  });

  it('loads with the build-validated manifest, without parsing the text, and a fresh object each time', async () => {
    const manifest = () => parseManifest(text, 'build');
    // Text that would not parse: the load takes the build's manifest, so it never reads it.
    const source = new EmbeddedModelSource({ 'spam-edge/1/model.json': embeddedManifest('not json', manifest), 'spam-edge/1/model.onnx': verifiedAtBuild(sha) });
    const a = await loadVerifiedModel(source, 'spam-edge', '1');
    const b = await loadVerifiedModel(source, 'spam-edge', '1');
    expect(a.manifest).toEqual(parseManifest(text, 'x'));
    expect(a.manifest).not.toBe(b.manifest);
    expect(await readManifest(source, 'spam-edge/1/model.json')).toEqual(a.manifest);
    // read() still gives the embedded text.
    expect(new TextDecoder().decode(await source.read('spam-edge/1/model.json'))).toBe('not json');
    // The sha256 binding to the build-verified graph still holds.
    const wrong = new EmbeddedModelSource({ 'spam-edge/1/model.json': embeddedManifest(text, manifest), 'spam-edge/1/model.onnx': verifiedAtBuild('0'.repeat(64)) });
    await expect(loadVerifiedModel(wrong, 'spam-edge', '1')).rejects.toThrow(/sha256 mismatch/);
  });

  it('still parses and validates a model.json embedded as text only', async () => {
    const source = new EmbeddedModelSource({ 'spam-edge/1/model.json': embeddedText('{"name": "spam-edge"}'), 'spam-edge/1/model.onnx': verifiedAtBuild(sha) });
    await expect(loadVerifiedModel(source, 'spam-edge', '1')).rejects.toThrow(/embedded:spam-edge\/1\/model\.json: "version"/);
    await expect(readManifest(source, 'spam-edge/1/model.json')).rejects.toThrow(/"version"/);
  });
});

describe('manifestLiteral', () => {
  it('keeps null-prototype records and a "__proto__" key as the parser gives them', () => {
    const json = readFileSync(new URL('../../../models/spam-edge/1/model.json', import.meta.url), 'utf8');
    const raw = JSON.parse(json) as Record<string, unknown>;
    raw.warmup = [{ text: 'hello', fields: { __proto__: 'x', a: 1 } }];
    // JSON.parse makes "__proto__" an own key; so does the parser's null-prototype record.
    const text = JSON.stringify(raw).replace('"fields":{"a":1}', '"fields":{"__proto__":"x","a":1}');
    const parsed = parseManifest(text, 't');
    expect(Object.getPrototypeOf(parsed.warmup[0]!.fields)).toBeNull();
    const literal = manifestLiteral(text, 't');
    expect(literal).toBeDefined();
    const back = new Function(`return (${literal as string});`)() as typeof parsed;
    expect(Object.getPrototypeOf(back.warmup[0]!.fields)).toBeNull();
    expect(Object.getPrototypeOf(back.warmup[0]!.inputs)).toBeNull();
    expect(Object.keys(back.warmup[0]!.fields!)).toEqual(Object.keys(parsed.warmup[0]!.fields!));
  });
});
