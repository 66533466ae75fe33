// A model behind the small Hugging Face tokenizer.json (small-tokenizer.ts), written into a
// temp model repository: a seeded graph that echoes the ids and mask it was fed (ids_f,
// mask_f) and scores them (masked embedding sum times a weight matrix → scores [1,2]), so a
// test sees what the model saw. Its output is raw by default, or a classification of
// `scores` for tiers that answer labels (the regional function).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { GraphBuilder } from '../../build/onnx/builder.ts';
import { seededRandom } from '../../models/training/prng.ts';
import { smallTokenizerJson } from './small-tokenizer.ts';

export const TOKENIZER = smallTokenizerJson();
export const TOKENIZER_MAX_LENGTH = 16;
const VOCAB = Object.keys((TOKENIZER.model as { vocab: Record<string, number> }).vocab).length;
const DIM = 4;

/** Options of {@link writeTokenizerModel}. */
export interface TokenizerModelOptions {
  name: string;
  version: string;
  preprocessing?: { id: string; version: number };
  /** model.json `output`; default raw (every output as a tensor). */
  output?: Record<string, unknown>;
  role?: 'edge' | 'regional' | 'any';
}

/** Writes <repo>/<name>/<version>/{model.onnx, tokenizer.json, model.json}; returns the graph bytes. */
export function writeTokenizerModel(repo: string, options: TokenizerModelOptions): Uint8Array {
  const { name, version } = options;
  const rand = seededRandom(4242);
  const g = new GraphBuilder(name);
  g.input('input_ids', 'int64', [1, TOKENIZER_MAX_LENGTH]);
  g.input('attention_mask', 'int64', [1, TOKENIZER_MAX_LENGTH]);
  g.initializer('E', { dtype: 'float32', dims: [VOCAB, DIM], data: Float32Array.from({ length: VOCAB * DIM }, () => rand() * 2 - 1) });
  g.initializer('W', { dtype: 'float32', dims: [DIM, 2], data: Float32Array.from({ length: DIM * 2 }, () => rand() * 2 - 1) });
  g.initializer('axis2', { dtype: 'int64', dims: [1], data: new BigInt64Array([2n]) });
  g.initializer('axis1', { dtype: 'int64', dims: [1], data: new BigInt64Array([1n]) });
  g.node('Cast', ['input_ids'], ['ids_f'], { to: { int: 1 } });
  g.node('Cast', ['attention_mask'], ['mask_f'], { to: { int: 1 } });
  const [mask3] = g.node('Unsqueeze', ['mask_f', 'axis2']);
  const [emb] = g.node('Gather', ['E', 'input_ids'], 1, { axis: { int: 0 } });
  const [masked] = g.node('Mul', [emb!, mask3!]);
  const [pooled] = g.node('ReduceSum', [masked!, 'axis1'], 1, { keepdims: { int: 0 } });
  g.node('MatMul', [pooled!, 'W'], ['scores']);
  g.output('ids_f', 'float32', [1, TOKENIZER_MAX_LENGTH]);
  g.output('mask_f', 'float32', [1, TOKENIZER_MAX_LENGTH]);
  g.output('scores', 'float32', [1, 2]);
  const graph = g.encode(17);
  const dir = join(repo, name, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), graph);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(TOKENIZER));
  const shape = [1, TOKENIZER_MAX_LENGTH];
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({
      name, version, file: 'model.onnx', engine: 'auto', role: options.role ?? 'edge',
      sha256: createHash('sha256').update(graph).digest('hex'),
      inputs: [
        { name: 'input_ids', dtype: 'int64', shape, source: 'text', text: 'input_ids' },
        { name: 'attention_mask', dtype: 'int64', shape, source: 'text', text: 'attention_mask' },
      ],
      outputs: [{ name: 'ids_f', dtype: 'float32', shape }, { name: 'mask_f', dtype: 'float32', shape }, { name: 'scores', dtype: 'float32', shape: [1, 2] }],
      preprocessing: { ...(options.preprocessing ?? { id: 'hf-tokenizer', version: 1 }), params: { file: 'tokenizer.json', maxLength: TOKENIZER_MAX_LENGTH, padding: 'max_length', truncation: true } },
      output: options.output ?? { kind: 'raw' },
    }),
  );
  return graph;
}

/** The library's own encoding of `text`, padded to the model's length: what the graph must see. */
export function libraryEncoding(text: string): { ids: number[]; mask: number[] } {
  const own = new Tokenizer(TOKENIZER, {}).encode(text).ids;
  const pad = new Array<number>(TOKENIZER_MAX_LENGTH - own.length).fill(0);
  return { ids: [...own, ...pad], mask: [...own.map(() => 1), ...pad] };
}
