// #17 item 8: names from model files never become code. Model names, node names, tensor
// names and dimension symbols full of quotes, backticks, `${}`, comment closers, newlines
// and U+2028/U+2029 compile into a module that imports cleanly, runs nothing of theirs and
// keeps every name byte for byte; `npm run build:micro` refuses folder names outside the
// documented set and still builds the other models.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';
import { describe, expect, test } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { buildMicroModules } from '../../../build/micro/build-modules.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { jsString } from '../../../build/micro/module-writer.ts';
import { decodeModel, GraphBuilder } from '../../../build/onnx/builder.ts';
import { microModuleKey } from '../../../core/engine/micro/micro-engine.ts';
import type { ModelManifest } from '../../../core/model/manifest.ts';
import { buildQuantizedBagModel } from '../../core/engine/quantized-bag-graph.ts';

const flags = globalThis as Record<string, unknown>;
const HOSTILE = [
  `index.mjs';globalThis.PWNED_INDEX=1;'`,
  `x"; globalThis.PWNED_DQ = 1; "`,
  'a`${globalThis.PWNED_TPL = 1}`',
  'line\u2028globalThis.PWNED_LS = 1;//',
  'para\u2029globalThis.PWNED_PS = 1;//',
  'nl\nglobalThis.PWNED_NL = 1;//',
  '*/ globalThis.PWNED_CMT = 1; /*',
  '</script><script>globalThis.PWNED_HTML = 1</script>',
  '\\"); globalThis.PWNED_BS = 1; ("',
];

function pwned(): string[] {
  return Object.keys(flags).filter((k) => k.startsWith('PWNED'));
}

/** y = Relu(x) + x over [n, 2] with every name (nodes, tensors, the dim symbol) hostile. */
function hostileGraph(name: string): Uint8Array {
  const g = new GraphBuilder('g');
  g.input(`in ${name}`, 'float32', [`dim ${name}`, 2]);
  const [h] = g.node('Relu', [`in ${name}`], [`hidden ${name}`]);
  g.node('Add', [h!, `in ${name}`], [`out ${name}`]);
  g.output(`out ${name}`, 'float32', [`dim ${name}`, 2]);
  const model = decodeModel(g.encode(17));
  model.graph!.node!.forEach((n, i) => {
    n.name = `node${i} ${name}`;
  });
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

describe('hostile names in generated code (#17.8)', () => {
  test('jsString escapes the two line separators JSON leaves raw', () => {
    expect(jsString('a\u2028b\u2029c')).toBe('"a\\u2028b\\u2029c"');
    expect(JSON.parse(jsString('a\u2028b'))).toBe('a\u2028b');
  });

  for (const name of HOSTILE) {
    test(`model, node, tensor and dim names ${JSON.stringify(name)} stay data`, async () => {
      const compiled = compileOnnxToModule(hostileGraph(name), { name });
      expect(compiled.source).not.toMatch(/[\u2028\u2029]/);
      const module = await importMicroModule(compiled.source, 'hostile');
      expect(pwned()).toEqual([]);
      expect(module.metadata.name).toBe(name);
      expect(module.metadata.inputs[0]!.name).toBe(`in ${name}`);
      const out = module.run({ [`in ${name}`]: { dtype: 'float32', dims: [2, 2], data: Float32Array.of(-1, 2, 3, -4) } });
      expect(Array.from(out[`out ${name}`]!.data as Float32Array)).toEqual([-1, 4, 6, -4]);
      // Run-time errors quote the names as data too.
      expect(() => module.run({})).toThrow(`missing input "in ${name}"`);
      expect(pwned()).toEqual([]);
    });
  }

  test('build:micro refuses hostile model folders, builds the rest, and its index imports cleanly', async () => {
    const root = mkdtempSync(join(tmpdir(), 'micro-hostile-'));
    const models = join(root, 'models');
    const bag = buildQuantizedBagModel(7);
    const write = (name: string, version = '1'): ModelManifest => {
      const dir = join(models, name, version);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.onnx'), bag.bytes);
      const manifest = { ...bag.manifest, name, version, engine: 'auto' as const, sha256: createHash('sha256').update(bag.bytes).digest('hex') };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
      return manifest;
    };
    const good = write('good-model');
    for (const name of HOSTILE.filter((n) => !n.includes('/'))) write(name);
    write('fine', `v1';globalThis.PWNED_VERSION=1;'`);
    const result = await buildMicroModules(models, join(root, 'dist'));
    const byModel = new Map(result.entries.map((e) => [e.model, e]));
    expect(byModel.get('good-model@1')!.status).toBe('compiled');
    const refused = result.entries.filter((e) => e.model !== 'good-model@1');
    expect(refused.length).toBe(HOSTILE.filter((n) => !n.includes('/')).length + 1);
    for (const e of refused) {
      expect(e.status).toBe('failed');
      expect(e.reason).toMatch(/must match .*rename the folder/);
    }
    const indexSource = readFileSync(result.index, 'utf8');
    expect(indexSource).not.toMatch(/PWNED/);
    const index = (await import(pathToFileURL(result.index).href)) as { microModules: Record<string, unknown> };
    expect(Object.keys(index.microModules)).toEqual([microModuleKey(good.sha256, good)]);
    expect(pwned()).toEqual([]);
  });
});
