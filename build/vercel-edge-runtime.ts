// Runs a built Vercel edge function in Vercel's own edge-runtime, as production does: the
// function's ES module, unchanged, wrapped in a script that registers it as the fetch
// listener (edge-runtime runs scripts, not modules), with code generation from strings and
// WASM bytes disallowed. Shared by the conformance suite, the fuzz run and bench:coldstart.
import { EdgeRuntime } from 'edge-runtime';
import { build } from 'esbuild';
import { REPO_ROOT } from './pipeline.ts';

const WASM_MODULE_GLOBAL = '__VERCEL_WASM_MODULE__';

/** The function file bundled into one script for edge-runtime. */
export async function bundleVercelFunctionScript(functionFile: string): Promise<string> {
  const wrapped = await build({
    stdin: {
      contents: `import handler from ${JSON.stringify(functionFile)};
addEventListener('fetch', (event) => event.respondWith(handler(event.request, { waitUntil: (p) => event.waitUntil(p) })));`,
      resolveDir: REPO_ROOT,
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'vercel-wasm-module',
        setup(b) {
          // Vercel links `x.wasm?module` to the compiled module; here the host hands it over.
          b.onResolve({ filter: /\.wasm\?module$/ }, (a) => ({ path: a.path, namespace: 'wasm-module' }));
          b.onLoad({ filter: /.*/, namespace: 'wasm-module' }, () => ({ contents: `export default globalThis.${WASM_MODULE_GLOBAL};`, loader: 'js' }));
        },
      },
    ],
  });
  return (wrapped.outputFiles[0] as { text: string }).text;
}

/**
 * A fresh edge-runtime with the script evaluated. `env` stands in for the process.env that
 * Vercel inlines; `wasmModule` for its linking of `import m from './x.wasm?module'`.
 */
export function startVercelEdgeRuntime(script: string, options: { env?: Record<string, string>; wasmModule?: WebAssembly.Module } = {}): EdgeRuntime {
  const runtime = new EdgeRuntime({
    codeGeneration: { strings: false, wasm: false },
    extend: (context) =>
      Object.assign(context, { process: { env: options.env ?? {} } }, options.wasmModule ? { [WASM_MODULE_GLOBAL]: options.wasmModule } : {}),
  });
  runtime.evaluate(script);
  return runtime;
}
