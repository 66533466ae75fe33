// The example models (models/spam-edge, models/spam-regional) compiled by the micro compiler
// and run over the whole test split: every output equals onnxruntime-web's within 1e-5.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEFAULT_MODELS_ROOT, FsModelSource } from '../../../../adapters/node/fs-model-source.ts';
import { importMicroModule } from '../../../../adapters/node/micro-module-loader.ts';
import { createNodeOrtWebEngine } from '../../../../adapters/node/ort-wasm-binary.ts';
import { compileOnnxToModule } from '../../../../build/micro/compile.ts';
import type { Tensor } from '../../../../core/engine/types.ts';
import { latestVersions, loadVerifiedModel } from '../../../../core/model/repository.ts';
import { createPreprocessor } from '../../../../core/preprocess/index.ts';
import { loadSplits } from '../../../../models/training/dataset.ts';
import { tensorMismatch } from '../../../build/micro/oracle.ts';
import { requireTextPreprocessing } from '../../../../core/model/manifest.ts';

const EXAMPLES = ['spam-edge', 'spam-regional'];
// Another repository can be checked the same way (MICRO_EXAMPLES_ROOT=/path/to/models).
const ROOT = process.env.MICRO_EXAMPLES_ROOT ?? DEFAULT_MODELS_ROOT;

for (const name of EXAMPLES) {
  const present = existsSync(join(ROOT, name));
  if (!present) console.warn(`\n!!! models/${name} is not in the repository yet: its micro parity test is SKIPPED (run \`npm run models\`) !!!\n`);
  describe.skipIf(!present)(`example model ${name}: micro vs ort-web over the whole test split`, () => {
    test('0 outputs differ by more than 1e-5', async () => {
      const source = new FsModelSource(ROOT);
      const latest = (await latestVersions(source)).find((m) => m.name === name)!;
      const { manifest, bytes } = await loadVerifiedModel(source, latest.name, latest.version);
      const compiled = compileOnnxToModule(bytes, { name: `${name}@${latest.version}` });
      const module = await importMicroModule(compiled.source, name);
      const ort = await (await createNodeOrtWebEngine()).load(bytes, manifest);
      const preprocessor = createPreprocessor(requireTextPreprocessing(manifest));
      const inputName = manifest.inputs[0]!.name;
      const test = loadSplits().test;
      const problems: string[] = [];
      let longest = 0;
      for (const message of test) {
        const ids = preprocessor.toIds(message.text);
        longest = Math.max(longest, ids.length);
        const feeds = { [inputName]: { dtype: 'int32', dims: [1, ids.length], data: ids } as Tensor };
        const expected = await ort.run(feeds);
        const actual = module.run(feeds);
        for (const out of manifest.outputs) {
          const problem = tensorMismatch(expected[out.name]!, actual[out.name]!, 1e-5);
          if (problem) problems.push(`message ${message.checksum} (${ids.length} ids) ${out.name}: ${problem}`);
        }
      }
      await ort.release();
      expect(test.length).toBeGreaterThan(100);
      expect(longest).toBeGreaterThan(1);
      expect(problems.slice(0, 5)).toEqual([]);
    });
  });
}
