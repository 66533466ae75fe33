// `npm run embeddings:codec`: the adaptive choice of how a regional model's cached
// embeddings are stored. Runs the model (onnxruntime-node) on the calibration split, takes
// its penultimate-layer `embedding` output, and for each codec compares the model's own
// head (the last Gemm + argmax, read from the ONNX initializers w2, b2) on the decoded and
// the original embedding. The smallest codec meeting the target agreement (default
// 99.5 %) is recorded in models/<name>/<version>/embedding-codec.json, bound to the sha256.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeModel } from '../../build/onnx/builder.ts';
import { chooseEmbeddingCodec, type CodecChoice } from '../../core/cache/embedding-codecs.ts';
import { requireTextPreprocessing, classificationTensor, parseManifest } from '../../core/model/manifest.ts';
import { createPreprocessor } from '../../core/preprocess/index.ts';
import { loadSplits } from './dataset.ts';
import { EMBEDDING_OUTPUT, IDS_INPUT } from './onnx-export.ts';

/** The head after the embedding: logits = e · w2 + b2, label = argmax. */
export function headFromModel(bytes: Uint8Array): (embedding: Float32Array) => number {
  const graph = decodeModel(bytes).graph;
  const find = (name: string) => {
    const t = graph?.initializer?.find((i) => i.name === name);
    if (!t) throw new Error(`the model has no initializer "${name}": not a fastText-style export with an embedding output`);
    const raw = t.rawData as Uint8Array | undefined;
    const data = raw && raw.length ? new Float32Array(raw.slice().buffer) : Float32Array.from(t.floatData ?? []);
    return { data, dims: (t.dims ?? []).map(Number) };
  };
  const w2 = find('w2');
  const b2 = find('b2');
  const [hidden, classes] = w2.dims as [number, number];
  return (e) => {
    let best = 0;
    let bestLogit = -Infinity;
    for (let c = 0; c < classes; c++) {
      let logit = b2.data[c] as number;
      for (let h = 0; h < hidden; h++) logit += (e[h] as number) * (w2.data[h * classes + c] as number);
      if (logit > bestLogit) (bestLogit = logit), (best = c);
    }
    return best;
  };
}

/** Measures the codecs for one model version on the calibration split. */
export async function measureModelCodecs(modelDir: string, target: number): Promise<CodecChoice & { modelSha256: string; embeddings: number; dims: number }> {
  const manifest = parseManifest(readFileSync(join(modelDir, 'model.json'), 'utf8'), join(modelDir, 'model.json'));
  if (!manifest.outputs.some((o) => o.name === EMBEDDING_OUTPUT)) throw new Error(`${manifest.name}@${manifest.version} has no "${EMBEDDING_OUTPUT}" output`);
  const bytes = new Uint8Array(readFileSync(join(modelDir, manifest.file)));
  const head = headFromModel(bytes);
  const pre = createPreprocessor(requireTextPreprocessing(manifest));
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic', intraOpNumThreads: 1, interOpNumThreads: 1 });
  const embeddings: Float32Array[] = [];
  try {
    for (const message of loadSplits().calibration) {
      const ids = pre.toIds(message.text);
      const out = await session.run({ [IDS_INPUT]: new ort.Tensor('int32', ids, [1, ids.length]) }, [EMBEDDING_OUTPUT, classificationTensor(manifest)]);
      const embedding = Float32Array.from(out[EMBEDDING_OUTPUT]?.data as Float32Array);
      // The head read from the initializers must agree with the model's own answer.
      const probabilities = out[classificationTensor(manifest)]?.data as Float32Array;
      const modelLabel = (probabilities[1] as number) > (probabilities[0] as number) ? 1 : 0;
      if (head(embedding) !== modelLabel) throw new Error('the head rebuilt from w2/b2 disagrees with the model: refusing to measure');
      embeddings.push(embedding);
    }
  } finally {
    await session.release();
  }
  return { ...chooseEmbeddingCodec(embeddings, head, target), modelSha256: manifest.sha256, embeddings: embeddings.length, dims: embeddings[0]?.length ?? 0 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'spam-regional' }, version: { type: 'string', default: '1' }, target: { type: 'string', default: '0.995' } } });
  const root = fileURLToPath(new URL('../', import.meta.url));
  const dir = join(root, values.model as string, values.version as string);
  const result = await measureModelCodecs(dir, Number(values.target));
  console.log(`${values.model}@${values.version}: ${result.embeddings} calibration embeddings of ${result.dims} dims, target agreement ${result.target}`);
  for (const m of result.measurements) {
    console.log(`  ${m.codec.padEnd(6)} ${String(m.textBytes).padStart(5)} bytes as text   agreement ${(m.agreement * 100).toFixed(2)} %   max |error| ${m.maxAbsError.toExponential(2)}`);
  }
  console.log(`  chosen: ${result.chosen}`);
  writeFileSync(join(dir, 'embedding-codec.json'), `${JSON.stringify({ ...result, measuredOn: 'calibration split', measuredWith: 'onnxruntime-node' }, null, 2)}\n`);
  console.log(JSON.stringify(result));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`embeddings:codec: ${(error as Error).message}`);
    process.exit(1);
  });
}
