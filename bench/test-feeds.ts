// The engine benches' model and inputs: the latest verified version of a model under the models
// folder, and one int32 feed per test-split message, preprocessed as the server does.
import { FsModelSource } from '../adapters/node/fs-model-source.ts';
import type { Tensor, TensorMap } from '../core/engine/types.ts';
import { latestVersions, loadVerifiedModel } from '../core/model/repository.ts';
import { createPreprocessor } from '../core/preprocess/index.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { requireTextPreprocessing } from '../core/model/manifest.ts';

/** Loads `modelName` at `version` (default: its latest; exits the process when there is none) and its test-split feeds. */
export async function loadModelAndTestFeeds(modelName: string, root?: string, version?: string) {
  const source = new FsModelSource(root);
  const listing = await source.list();
  const found = listing.find((m) => m.name === modelName);
  const chosen = version ?? (await latestVersions(source)).find((m) => m.name === modelName)?.version;
  if (!found || !chosen || !found.versions.includes(chosen)) {
    const have = listing.map((m) => `${m.name}@${m.versions.join('|')}`).join(', ') || 'none';
    console.error(`no model "${modelName}${version ? `@${version}` : ''}" under ${source.root} (have: ${have}); run \`npm run models\` first`);
    process.exit(1);
  }
  const { manifest, bytes } = await loadVerifiedModel(source, modelName, chosen);
  const inputName = manifest.inputs[0]!.name;
  const preprocessor = createPreprocessor(requireTextPreprocessing(manifest));
  const feeds: TensorMap[] = loadSplits().test.map((m) => {
    const ids = preprocessor.toIds(m.text);
    return { [inputName]: { dtype: 'int32', dims: [1, ids.length], data: ids } as Tensor };
  });
  return { manifest, bytes, inputName, feeds };
}
