// ort-web initialisation failures are clear errors, not crashes: no runtime supplied, and a
// WASM binary that is not ORT's. Own file: a failed initialisation is permanent per process.
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../core/engine/ort-session.ts';
import { createOrtWebEngine } from '../../../core/engine/ort-web/ort-web-engine.ts';
import { EngineRegistry } from '../../../core/engine/registry.ts';

describe('ort-web initialisation errors', () => {
  it('asks for the runtime when none is supplied, and leaves the isolate able to try again', async () => {
    const error = await createOrtWebEngine().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('engine_init_failed');
    expect((error as Error).message).toBe(
      'ort-web: no WASM runtime supplied: pass wasmBinary (the bytes of ort-wasm-simd-threaded.wasm) or wasmModule (that file, compiled)',
    );
  });

  it('rejects bytes that are not the ORT runtime, and the registry records why', async () => {
    const registry = new EngineRegistry();
    registry.register('ort-web', () => createOrtWebEngine({ wasmBinary: new TextEncoder().encode('not a wasm file') }));
    await expect(registry.get('ort-web')).rejects.toThrow(
      /^engine "ort-web" failed to initialise: ort-web: cannot initialise onnxruntime-web 1\.30\.0 WASM runtime \(expects ort-wasm-simd-threaded\.wasm from the same onnxruntime-web version\): .+/,
    );
    expect(registry.failures()['ort-web']).toMatch(/cannot initialise onnxruntime-web/);
    // Permanent for this isolate (ORT refuses a second initialisation), and still a clean rejection.
    await expect(createOrtWebEngine({ wasmBinary: new Uint8Array(8) })).rejects.toThrow(/cannot initialise onnxruntime-web/);
  });
});
