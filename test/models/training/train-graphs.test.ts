// trainQuantizedTwins is how benches get the edge model's fp32 twin, which models/ does not
// keep: it must rebuild exactly what `npm run models` wrote (the int8 bytes hash to the
// committed model.json's sha256) and its fp32 twin must be a different, larger graph.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { loadVerifiedModel } from '../../../core/model/repository.ts';
import { EDGE_SPEC, REGIONAL_SPEC } from '../../../models/training/specs.ts';
import { headerlessExamples, toTrainingExamples, trainQuantizedTwins } from '../../../models/training/train-graphs.ts';

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

describe('toTrainingExamples (header-less views)', () => {
  const message = (text: string, label: 0 | 1) => ({ text, label, checksum: 'x', group: 'test' }) as const;
  const long = `Subject: plans\nFrom: a@b.example\n\n${'We met at noon. '.repeat(30)}See you.`;

  it('adds the body and its opening for the edge spec, the body alone for the regional spec, with the message label', () => {
    const edge = toTrainingExamples([message(long, 0)], EDGE_SPEC);
    expect(edge).toHaveLength(3);
    expect(edge.every((e) => e.label === 0)).toBe(true);
    const [whole, body, opening] = edge.map((e) => e.ids.length) as [number, number, number];
    expect(body).toBeLessThan(whole); // no Subject / From tokens
    expect(opening).toBeLessThan(body); // at most 200 characters
    expect(toTrainingExamples([message(long, 1)], REGIONAL_SPEC)).toHaveLength(2);
  });

  it('adds nothing for an empty body, and no opening when the body is already short', () => {
    expect(toTrainingExamples([message('Subject: only headers\n\n', 1)], EDGE_SPEC)).toHaveLength(1);
    expect(toTrainingExamples([message('Subject: hi\n\nnoon works', 0)], EDGE_SPEC)).toHaveLength(2);
  });

  it('evaluates on header-less copies: one example per message with a body, cut to the opening on request', () => {
    const messages = [message(long, 0), message('Subject: x\n\n', 1)];
    expect(headerlessExamples(messages, EDGE_SPEC, 'body')).toHaveLength(1);
    const [opening] = headerlessExamples(messages, EDGE_SPEC, 'opening');
    const [body] = headerlessExamples(messages, EDGE_SPEC, 'body');
    expect(opening!.ids.length).toBeLessThan(body!.ids.length);
  });
});
