// A model.json asking for ONNX Runtime in a build that carries none (a micro-only edge build)
// left nothing to try: the refusal read `no engine could load it ()`, the 503 Netlify answered.
// It now says what was asked, what the build carries and what to change.
import { describe, expect, it } from 'vitest';
import { createNodeMicroEngine } from '../../../adapters/node/micro-engine.ts';
import { EngineRegistry } from '../../../core/engine/registry.ts';
import { loadOnPreferredEngine } from '../../../core/engine/select.ts';
import { buildQuantizedBagModel } from './quantized-bag-graph.ts';

describe('loadOnPreferredEngine with nothing to try', () => {
  it('names the engine asked for and the engines of the build, never an empty reason', async () => {
    const registry = new EngineRegistry();
    registry.register('micro', async () => createNodeMicroEngine());
    const model = buildQuantizedBagModel(7);
    const failure = await loadOnPreferredEngine({ ...model.manifest, engine: 'ort' }, model.bytes, registry, []).catch((e: unknown) => e as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/: no engine could load it \(model\.json asks for engine "ort" and this build carries micro; set "engine": "auto" or serve it from a build with ONNX Runtime\)$/);
    expect((failure as Error).message).not.toContain('()');
  });
});
