// Node-only: turns generated micro module source into a live module by writing it to a temp
// file and importing it. The local server compiles models at startup this way; edge bundles
// import the pre-generated files instead (no eval, no temp files there).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MicroModule } from '../../core/engine/micro/types.ts';

let directory: string | undefined;
let counter = 0;

/** Imports generated module source; each call yields a fresh module (own buffers). */
export async function importMicroModule(source: string, fileStem = 'model'): Promise<MicroModule> {
  directory ??= mkdtempSync(join(tmpdir(), 'edgeinfer-micro-'));
  const file = join(directory, `${fileStem.replace(/[^\w.-]/g, '_')}-${counter++}.mjs`);
  writeFileSync(file, source);
  return (await import(pathToFileURL(file).href)) as MicroModule;
}
