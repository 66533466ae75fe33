// Loads a test entry into Vercel's edge-runtime as production runs it: bundled by esbuild
// as an IIFE for the worker/browser conditions (edge-runtime runs scripts, not modules),
// with code generation from strings and WASM bytes disallowed.
import { build } from 'esbuild';
import { EdgeRuntime } from 'edge-runtime';
import { fileURLToPath } from 'node:url';

/** Bundles `entry` (a file URL) and evaluates it in a fresh EdgeRuntime. */
export async function loadIntoEdgeRuntime(entry: URL): Promise<EdgeRuntime> {
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    conditions: ['worker', 'browser'],
    write: false,
    logLevel: 'silent',
  });
  const runtime = new EdgeRuntime({ codeGeneration: { strings: false, wasm: false } });
  runtime.evaluate((result.outputFiles[0] as { text: string }).text);
  return runtime;
}
