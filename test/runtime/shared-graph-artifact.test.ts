// Two models sharing one .onnx but declaring different input shapes (x [1,4] and [1,8]) built
// into one Vercel function and run in edge-runtime: each is served by the micro module compiled
// for its own shape. Micro modules were keyed by the graph's sha256 alone, so the two entries
// of the generated index collided and one model ran the module compiled for the other's shape.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTarget } from '../../build/pipeline.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';
import { shapeEchoBytes, shapeEchoManifest } from '../helpers/shape-echo-graph.ts';

const work = mkdtempSync(join(tmpdir(), 'edgeinfer-shared-graph-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('one graph, two declared shapes, one Vercel function', () => {
  it('echo_four answers [1,4] inputs and echo_eight [1,8] ones, each on micro with its own module', async () => {
    const bytes = shapeEchoBytes();
    const sha = createHash('sha256').update(bytes).digest('hex');
    const repo = join(work, 'models');
    for (const [name, n] of [['echo_four', 4], ['echo_eight', 8]] as const) {
      mkdirSync(join(repo, name, '1'), { recursive: true });
      writeFileSync(join(repo, name, '1', 'model.onnx'), bytes);
      writeFileSync(join(repo, name, '1', 'model.json'), JSON.stringify({ ...shapeEchoManifest('1', n, sha), name, role: 'edge' }));
    }
    const outDir = join(work, '.vercel/output');
    const lines: string[] = [];
    await buildTarget(vercelTarget, { outDir, tier: 'hobby', modelsRoot: repo, log: (l) => lines.push(l) });
    for (const name of ['echo_four', 'echo_eight']) expect(lines.join('\n')).toMatch(new RegExp(`model ${name}@1 in vercel/edgeinfer: engine micro`));
    const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js')), { env: { EDGEINFER_RATE_LIMIT: 'off' } });
    for (const [name, n] of [['echo_four', 4], ['echo_eight', 8]] as const) {
      const answer = await runtime.dispatchFetch(`https://edgeinfer.vercel.test/v2/models/${name}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, n], data: new Array(n).fill(3) }] }),
      });
      await answer.waitUntil();
      const json = (await answer.json()) as { outputs?: Array<{ name: string; data: number[] }> };
      expect(answer.status, `${name}: ${JSON.stringify(json).slice(0, 300)}`).toBe(200);
      const outputs = new Map(json.outputs!.map((o) => [o.name, o.data]));
      expect(outputs.get('dims'), name).toEqual([1, n]);
      expect(outputs.get('sq'), name).toEqual(new Array(n).fill(9));
    }
  }, 180_000);
});
