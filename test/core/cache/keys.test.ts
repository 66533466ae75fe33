import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assembledInputHash, textHash, canonicalInput, featureKey, inputHash, inputHashSync, parsePredictionKey, predictionKey, sha256HexOfText } from '../../../core/cache/keys.ts';
import { nodeSha256Hex } from '../../../adapters/node/local-service.ts';
import { loadSplits } from '../../../models/training/dataset.ts';

const SHA = 'a'.repeat(64);

describe('cache keys', () => {
  it('hashes with SHA-256 of the UTF-8 canonical text', async () => {
    expect(await sha256HexOfText('héllo')).toBe(createHash('sha256').update('héllo', 'utf8').digest('hex'));
    expect(await inputHash('Buy now!')).toBe(createHash('sha256').update('s:Buy now!').digest('hex'));
  });

  it("the node server's native digest gives the portable digest's keys, lone surrogates and all", async () => {
    const inputs: unknown[] = ['', 'héllo', '😀 日本語', '\ud800 lone', 'x'.repeat(70_000), [1, 2, 3], ...loadSplits().test.slice(0, 50).map((m) => m.text)];
    for (const input of inputs) {
      expect(inputHashSync(input, nodeSha256Hex)).toBe(inputHashSync(input));
      expect(await inputHash(input, nodeSha256Hex)).toBe(await inputHash(input));
      // The sync path hashes a text as ("s:", text): the same key as the joined canonical text.
      expect(inputHashSync(input)).toBe(createHash('sha256').update(canonicalInput(input), 'utf8').digest('hex'));
    }
  });

  it('canonical input ignores key order but not text differences', async () => {
    expect(canonicalInput({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('j:{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(await inputHash({ x: 1, y: 2 })).toBe(await inputHash({ y: 2, x: 1 }));
    expect(await inputHash('Hello')).not.toBe(await inputHash('hello'));
    // A string and the JSON of the same string are different inputs.
    expect(canonicalInput('1')).not.toBe(canonicalInput(1));
    expect(canonicalInput(new Int32Array([3, 1]))).toBe('j:[3,1]');
    expect(() => canonicalInput({ x: Number.NaN })).toThrow(/NaN/);
  });

  it('prediction keys bind key space, model fingerprint and input hash, and parse back', async () => {
    const hash = await inputHash('text');
    const key = predictionKey({ space: 'e', fingerprint: SHA, inputHash: hash });
    expect(key).toBe(`p:e:${SHA}:${hash}`);
    expect(parsePredictionKey(key)).toEqual({ space: 'e', fingerprint: SHA, inputHash: hash });
    expect(predictionKey({ space: 'e', fingerprint: 'b'.repeat(64), inputHash: hash })).not.toBe(key);
    // Edge and regional answers of one model never share a key (#17 item 1).
    expect(predictionKey({ space: 'r', fingerprint: SHA, inputHash: hash })).not.toBe(key);
    expect(parsePredictionKey(`p:${SHA}:1:${hash}`)).toBeNull();
    expect(parsePredictionKey('f:domain:1:x')).toBeNull();
  });

  it('assembled input hashes bind every tensor (name, dtype, shape, bytes) and the text', () => {
    const t = (dtype: 'float32' | 'int32', dims: number[], values: number[]) => ({ dtype, dims, data: dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values) });
    const base = assembledInputHash(['x', 'y'], { x: t('float32', [1, 2], [1, 2]), y: t('int32', [1], [7]) }, undefined);
    expect(assembledInputHash(['x', 'y'], { x: t('float32', [1, 2], [1, 2]), y: t('int32', [1], [7]) }, undefined, nodeSha256Hex)).toBe(base);
    const others = [
      assembledInputHash(['x', 'y'], { x: t('float32', [2, 1], [1, 2]), y: t('int32', [1], [7]) }, undefined), // shape
      assembledInputHash(['x', 'y'], { x: t('float32', [1, 2], [1, 3]), y: t('int32', [1], [7]) }, undefined), // bytes
      assembledInputHash(['x', 'y'], { x: t('int32', [1, 2], [1, 2]), y: t('int32', [1], [7]) }, undefined), // dtype
      assembledInputHash(['x', 'z'], { x: t('float32', [1, 2], [1, 2]), z: t('int32', [1], [7]) }, undefined), // name
      assembledInputHash(['x', 'y'], { x: t('float32', [1, 2], [1, 2]) }, textHash('text')), // y from text
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
    // A typed array viewing part of a larger buffer hashes its own bytes only.
    const wide = new Float32Array([9, 1, 2, 9]);
    expect(assembledInputHash(['x', 'y'], { x: { dtype: 'float32', dims: [1, 2], data: wide.subarray(1, 3) }, y: t('int32', [1], [7]) }, undefined)).toBe(base);
    expect(assembledInputHash(['ids'], {}, textHash('Hello'))).not.toBe(assembledInputHash(['ids'], {}, textHash('hello')));
    expect(textHash('Hello', nodeSha256Hex)).toBe(textHash('Hello'));
    expect(() => assembledInputHash(['ids'], {}, undefined)).toThrow(/no text/);
  });

  it('feature keys name view and version, and escape the entity', () => {
    expect(featureKey('sender_domain', 3, 'example.com')).toBe('f:sender_domain:3:example.com');
    expect(featureKey('v', 1, 'a:b')).toBe('f:v:1:a%3Ab');
  });
});
