// model:check over a repository: one row per model with its signature, the engine the local
// server would choose, load + warmup and p50 on that engine, and why the others were passed
// over; a model that cannot load is a row with its reason and exit code 1, never a stack.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModels, modelCheckMain } from '../../../build/model-tools/model-check.ts';
import { REPO_ROOT } from '../../../build/pipeline.ts';

describe('model:check', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-model-check-'));
  cpSync(join(REPO_ROOT, 'models/spam-edge'), join(root, 'spam-edge'), { recursive: true });
  mkdirSync(join(root, 'broken/1'), { recursive: true });
  writeFileSync(join(root, 'broken/1/model.json'), '{"name": "broken", "version": "1"');

  it('measures every engine that runs a model and names the one chosen', async () => {
    const [check] = await checkModels(root, ['spam-edge'], 5);
    // The latest version of each model is what the server serves, and what model:check checks.
    expect(check!.model).toBe('spam-edge@2');
    expect(check!.signature).toMatch(/^ids: int32\[1,-1\] .*→ probabilities: float32\[1,2\]; classification \[ham, spam\]$/);
    expect(check!.chosen).toBe('micro');
    expect(check!.engines.map((e) => [e.engine, e.ok])).toEqual([['micro', true], ['ort-node', true], ['ort-web', true]]);
    for (const e of check!.engines) {
      expect(e.loadMs).toBeGreaterThan(0);
      expect(e.p50Ms).toBeGreaterThan(0);
    }
  }, 120_000);

  it('prints a row per model, the broken one with its reason, and exits 1', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await modelCheckMain(['--models-dir', root, '--runs', '3'], (l) => out.push(l), (l) => err.push(l));
    expect(code).toBe(1);
    expect(err).toEqual([]);
    const lines = out.join('\n').split('\n');
    expect(lines[0]).toMatch(/^model\s+signature\s+engine\s+load\+warmup ms\s+p50 ms\s+other engines$/);
    expect(lines.find((l) => l.startsWith('spam-edge@2'))).toMatch(/micro\s+[\d.]+\s+[\d.]+\s+ort-node: runs too/);
    expect(lines.find((l) => l.startsWith('broken@1'))).toMatch(/NONE\s+.*broken\/1\/model\.json: .*not valid JSON/);
    expect(out.join('\n')).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('names what is there when asked for an unknown model', async () => {
    const err: string[] = [];
    expect(await modelCheckMain(['nope', '--models-dir', root], () => {}, (l) => err.push(l))).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^model:check: no model "nope" in .* \(models there: broken, spam-edge\)$/)]);
  });
});
