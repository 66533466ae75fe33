// The latest version of each model in a repository folder, loaded on onnxruntime-node (the
// reference runtime), and the cascade scoring that calibration and the cascade bench share.
import { FsModelSource } from '../../adapters/node/fs-model-source.ts';
import { createOrtNodeEngine } from '../../core/engine/ort-node/ort-node-engine.ts';
import { EngineRegistry } from '../../core/engine/registry.ts';
import { latestVersions } from '../../core/model/repository.ts';
import { assessConfidence, type ConfidenceMeasure } from '../../core/router/confidence.ts';
import { loadModel, type LoadedModel } from '../../core/serving/loaded-model.ts';
import type { CalibrationItem } from './calibration.ts';
import { LABELS, type LabeledMessage } from './dataset.ts';

/** A loader of `name`'s latest version under `root`; refuses models whose labels are not the dataset's. */
export async function latestModelLoader(root: string): Promise<(name: string) => Promise<LoadedModel>> {
  const source = new FsModelSource(root);
  const versions = new Map((await latestVersions(source)).map((m) => [m.name, m.version]));
  const engines = new EngineRegistry();
  engines.register('ort-node', () => createOrtNodeEngine());
  return async (name) => {
    const version = versions.get(name);
    if (!version) throw new Error(`model "${name}" not found under ${source.root}; run \`npm run models\` first`);
    const model = await loadModel(source, name, version, engines, ['ort-node']);
    if (model.manifest.labels.join() !== LABELS.join()) throw new Error(`${name}: labels ${model.manifest.labels} differ from the dataset's ${LABELS}`);
    return model;
  };
}

/** Each message through both models: the edge's confidence score (by `measure`) and whether each model got it right. */
export async function scoreCascade(edge: LoadedModel, regional: LoadedModel, messages: readonly LabeledMessage[], measure: ConfidenceMeasure): Promise<CalibrationItem[]> {
  const out: CalibrationItem[] = [];
  for (const m of messages) {
    const e = await edge.classifyIds(edge.preprocessor.toIds(m.text));
    const r = await regional.classifyIds(regional.preprocessor.toIds(m.text));
    const { score } = assessConfidence(edge.manifest.labels.map((l) => e.scores[l] as number), { measure, threshold: 0 });
    out.push({ score, edgeCorrect: edge.manifest.labels.indexOf(e.label) === m.label, regionalCorrect: regional.manifest.labels.indexOf(r.label) === m.label });
  }
  return out;
}
