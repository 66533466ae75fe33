// The tiled conv functions in a fresh process, as an edge isolate runs a module once loaded:
// V8 must not throw their optimised code away mid-inference for lack of type feedback (each
// such deoptimisation cost ~30 ms of TurboFan again, the next layers interpreted meanwhile;
// PaddleOCR's 5x5 depthwise function did so on every cold start). Real graph, real
// tier-up: `node --trace-deopt` over two inferences, bailouts in conv code counted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { thirdPartyBenchGraphs } from '../../helpers/third-party-models.ts';

describe('tiled conv functions keep their optimised code in a fresh process (conv-tiled.ts warmCalls)', () => {
  test('ppocr_cls (MobileNetV3: 1x1, 3x3 and 5x5 depthwise, strided): no conv deoptimisation over two inferences', () => {
    const graph = thirdPartyBenchGraphs().find((g) => g.name === 'ppocr_cls')!;
    const { source } = compileOnnxToModule(graph.bytes(), { name: 'ppocr_cls' });
    const dir = mkdtempSync(join(tmpdir(), 'conv-tierup-'));
    try {
      const file = join(dir, 'model.mjs');
      writeFileSync(file, source);
      const script = [
        `const m = await import(${JSON.stringify(pathToFileURL(file).href)});`,
        // Smooth non-integer data, as a normalised text line is.
        'const data = Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i * 0.37));',
        "for (let r = 0; r < 2; r++) m.run({ x: { dtype: 'float32', dims: [1, 3, 48, 192], data } });",
        "console.log('ran');",
      ].join('\n');
      const out = execFileSync(process.execPath, ['--trace-deopt', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(out).toContain('ran');
      const bailouts = out.split('\n').filter((l) => l.startsWith('[bailout') && /<JSFunction conv\w*/.test(l));
      expect(bailouts.map((l) => /reason: ([^)]*)\).*<JSFunction (conv\w*)/.exec(l)!.slice(1).join(' in '))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
