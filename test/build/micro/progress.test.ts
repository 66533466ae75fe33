// Progress lines of a micro compile: one per phase on a terminal, nothing when not a TTY.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { compileProgressPrinter } from '../../../build/micro/progress.ts';
import { openWakeWordModelsDir } from '../../helpers/third-party-models.ts';

const bytes = new Uint8Array(readFileSync(join(openWakeWordModelsDir(), 'alexa_v0.1.onnx')));

function captured(isTTY: boolean, env: Record<string, string | undefined> = {}) {
  const lines: string[] = [];
  const printer = compileProgressPrinter('build:micro alexa@1', { isTTY, write: (t: string) => lines.push(t) }, env);
  if (printer) compileOnnxToModule(bytes, { name: 'alexa@1', onProgress: printer });
  return { printer, lines };
}

describe('compile progress', () => {
  test('a terminal gets a line per phase: read, nodes, assemble', () => {
    const { lines } = captured(true);
    expect(lines[0]).toMatch(/^build:micro alexa@1: read the graph \(\d+ nodes\), \d+\.\d s\n$/);
    expect(lines.some((l) => /compiled (\d+)\/\1 nodes/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/assembled the module/);
  });

  test('quiet when stderr is not a terminal, unless EDGEINFER_PROGRESS=1; EDGEINFER_PROGRESS=0 silences a terminal', () => {
    expect(captured(false).printer).toBeUndefined();
    expect(captured(false, { EDGEINFER_PROGRESS: '1' }).lines.length).toBeGreaterThanOrEqual(3);
    expect(captured(true, { EDGEINFER_PROGRESS: '0' }).printer).toBeUndefined();
  });
});
