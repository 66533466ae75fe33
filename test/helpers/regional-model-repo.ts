// A throwaway model repository for regional-tier tests: a seeded graph written as
// <dir>/<name>/1/{model.onnx, model.json} with a correct sha256, so the verified loader
// and onnxruntime-node run for real without depending on the trained example models.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BAG, buildQuantizedBagModel } from '../core/engine/quantized-bag-graph.ts';

/** Options of {@link writeRegionalModelRepo}. */
export interface RegionalModelRepoOptions {
  /** Cascade pairs, edge name → regional name: written as the edge's `cascade.regional`, with roles edge and regional. */
  cascade?: Record<string, string>;
}

/** Writes a repository with one model per name; returns its root and a cleanup. */
export function writeRegionalModelRepo(
  names: string[] = ['spam-regional'],
  seed = 11,
  options: RegionalModelRepoOptions = {},
): { root: string; sha256: Record<string, string>; cleanup(): void } {
  const pairs = options.cascade ?? {};
  const regionals = new Set(Object.values(pairs));
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-regional-'));
  const sha256: Record<string, string> = {};
  names.forEach((name, i) => {
    const { bytes, manifest } = buildQuantizedBagModel(seed + i);
    const dir = join(root, name, '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), bytes);
    const sha = createHash('sha256').update(bytes).digest('hex');
    sha256[name] = sha;
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({
        ...manifest,
        name,
        version: '1',
        sha256: sha,
        ...(Object.hasOwn(pairs, name) ? { role: 'edge', cascade: { ...manifest.cascade, regional: pairs[name] } } : {}),
        ...(regionals.has(name) ? { role: 'regional' } : {}),
        preprocessing: {
          id: 'email-hash',
          version: 1,
          params: { buckets: BAG.buckets, bodyChars: 2000, wordNgrams: 2, charNgrams: 0, extraHeaders: [], maxIds: 256 },
        },
      }),
    );
  });
  return { root, sha256, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
