// ort-node's execution-provider fallback: asked for cuda then cpu, it uses cuda where the
// host has a working CUDA provider and otherwise falls back to cpu, recording why. Own file:
// ORT's native logger is configured once per process, and here it is silenced so that the
// expected "cannot load libonnxruntime_providers_*.so" line does not clutter `npm test`.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOrtNodeEngine } from '../../../core/engine/ort-node/ort-node-engine.ts';
import { buildQuantizedBagModel, randomIdSequences } from './quantized-bag-graph.ts';

ort.env.logLevel = 'fatal';

const model = buildQuantizedBagModel();
const ids = randomIdSequences(1, 5)[0]!;

describe('ort-node execution providers', () => {
  it('falls back to cpu when cuda cannot be attached, and says why', async () => {
    const engine = await createOrtNodeEngine({ executionProviders: ['cuda', 'cpu'], intraOpNumThreads: 2 });
    const session = await engine.load(model.bytes, model.manifest);
    // Host-independent: on a host with a working CUDA provider, cuda is used and no failure is recorded.
    if (engine.providerFailures.cuda) {
      expect(session.executionProvider).toBe('cpu');
      expect(engine.providerFailures.cuda).toMatch(/cuda|CUDA|provider|library/);
    } else {
      expect(session.executionProvider).toBe('cuda');
    }
    expect(engine.executionProvider).toBe(session.executionProvider);
    const out = await session.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: ids } });
    const got = out.probabilities!.data as Float32Array;
    const want = model.reference(ids).probabilities;
    expect(Math.abs(got[0]! - want[0]!)).toBeLessThan(1e-5);
    expect(Math.abs(got[1]! - want[1]!)).toBeLessThan(1e-5);
    await session.release();
    // A provider that failed is not tried again: the next load goes straight to the fallback.
    const again = await engine.load(model.bytes, model.manifest);
    expect(again.executionProvider).toBe(session.executionProvider);
    await again.release();
  });

  it('uses cpu by default, with nothing skipped', async () => {
    const engine = await createOrtNodeEngine();
    const session = await engine.load(model.bytes, model.manifest);
    expect(session.executionProvider).toBe('cpu');
    expect(engine.providerFailures).toEqual({});
    await session.release();
  });

  it('rejects a nonsense thread count', async () => {
    await expect(createOrtNodeEngine({ intraOpNumThreads: 0 })).rejects.toThrow('ort-node: intraOpNumThreads must be an integer ≥ 1, got 0');
  });
});
