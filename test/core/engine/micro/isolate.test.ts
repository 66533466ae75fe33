// The generated module needs nothing but ECMAScript and atob: it runs in a V8 context with
// string code generation and WASM disallowed (what Vercel Edge enforces) and without any
// Node globals (no process, Buffer, require), and gives the same answers as in Node (where it
// decodes base64 with Buffer, feature-detected).
import vm from 'node:vm';
import { expect, test } from 'vitest';
import { importMicroModule } from '../../../../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../../../../build/micro/compile.ts';
import { buildQuantizedBagModel, randomIdSequences } from '../quantized-bag-graph.ts';

test('a generated module runs in a no-eval, no-WASM, no-Node V8 context with identical outputs', async () => {
  const model = buildQuantizedBagModel(7);
  const { source } = compileOnnxToModule(model.bytes, { name: 'quantized-bag' });
  // Node's Buffer only feature-detected (globalThis.Buffer, a native base64 decode where it exists); this context has none.
  expect(source).not.toMatch(/^\s*import\s|\bimport\(|\brequire\(|\beval\(|new Function|WebAssembly|\bprocess\.|(?<!globalThis\.)\bBuffer\b/m);

  const context = vm.createContext({ atob }, { codeGeneration: { strings: false, wasm: false } });
  expect(() => vm.runInContext('eval("1 + 1")', context)).toThrow(/Code generation from strings disallowed/);
  expect(vm.runInContext('typeof process + typeof Buffer + typeof require', context)).toBe('undefinedundefinedundefined');

  // The module's two exports become globals of the context (scripts cannot export).
  vm.runInContext(`${source.replace(/^export /gm, '')}\nglobalThis.compiled = { metadata, run };`, context);
  const inNode = await importMicroModule(source);
  for (const ids of [new Int32Array(0), ...randomIdSequences(20, 5, 300)]) {
    context.ids = Array.from(ids);
    // Feeds are built inside the context: its typed arrays are its own realm's.
    const out = vm.runInContext(
      'Array.from(compiled.run({ ids: { dtype: "int32", dims: [1, ids.length], data: Int32Array.from(ids) } }).probabilities.data)',
      context,
    ) as number[];
    const expected = Array.from(inNode.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: ids } }).probabilities!.data as Float32Array);
    expect(out).toEqual(expected);
  }
  expect(vm.runInContext('compiled.metadata.inputs[0].name', context)).toBe('ids');
  // Typed arrays from another realm are accepted too (the input check does not use instanceof).
  const outer = context.compiled.run({ ids: { dtype: 'int32', dims: [1, 2], data: Int32Array.of(3, 4) } });
  expect(Array.from(outer.probabilities.data as Float32Array)).toEqual(
    Array.from(inNode.run({ ids: { dtype: 'int32', dims: [1, 2], data: Int32Array.of(3, 4) } }).probabilities!.data as Float32Array),
  );
  expect(() => context.compiled.run({ ids: { dtype: 'int32', dims: [1, 2], data: Float32Array.of(3, 4) } })).toThrow(/Int32Array of 2 elements/);
});
