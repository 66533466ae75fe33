// trainQuantizedTwins is how benches get the edge model's fp32 twin, which models/ does not
// keep: it must rebuild exactly what `npm run models` wrote (the int8 bytes hash to the
// committed model.json's sha256) and its fp32 twin must be a different, larger graph.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { loadVerifiedModel } from '../../../core/model/repository.ts';
import { EDGE_SPEC, REGIONAL_SPEC } from '../../../models/training/specs.ts';
import { trainQuantizedTwins } from '../../../models/training/train-graphs.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('trainQuantizedTwins', () => {
  it('rebuilds the committed spam-edge int8 graph byte for byte, beside its fp32 twin', async () => {
    const { manifest, bytes } = await loadVerifiedModel(new FsModelSource(), EDGE_SPEC.name, EDGE_SPEC.version);
    const { fp32Bytes, int8Bytes } = trainQuantizedTwins(EDGE_SPEC);
    expect(sha256(int8Bytes)).toBe(manifest.sha256);
    expect(Buffer.from(int8Bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(sha256(fp32Bytes)).not.toBe(manifest.sha256);
    // fp32 weights: 4 bytes per weight instead of 1 (plus scales), so roughly 3× the int8 file.
    expect(fp32Bytes.length).toBeGreaterThan(int8Bytes.length * 3);
  }, 60_000);

  it('refuses a spec that is not quantized', () => {
    expect(() => trainQuantizedTwins(REGIONAL_SPEC)).toThrow(/not a quantized spec/);
  });
});
