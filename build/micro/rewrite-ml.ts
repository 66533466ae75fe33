// Graph outputs of classical (ai.onnx.ml) models that a micro module cannot return, resolved
// before compiling: the serving core carries numeric tensors only (core/engine/types.ts).
// - ZipMap (sklearn-onnx's default "output_probability", a sequence of maps) only wraps the
//   classifier's probabilities: the module returns the ZipMap's input tensor instead, under
//   that tensor's own name (sklearn-onnx: "probabilities"), for model.json to declare.
// - A classifier's label output with string labels is dropped (model.json's output.labels name
//   the columns of the probabilities); int64 labels stay.
// Anything else that is not a numeric tensor is refused with the reader's message.
import { MicroCompileError, ORT_FALLBACK_HINT } from './errors.ts';
import type { IrGraph, IrNode, IrValueInfo } from './model-ir.ts';

const ML = 'ai.onnx.ml';
const CLASSIFIERS = new Set(['TreeEnsembleClassifier', 'LinearClassifier', 'SVMClassifier', 'TreeEnsemble']);

function classCount(node: IrNode | undefined): number | null {
  if (!node || node.domain !== ML) return null;
  for (const key of ['classlabels_strings', 'classlabels_int64s', 'classlabels_ints']) {
    const v = node.attrs.get(key);
    if (Array.isArray(v) && v.length > 0) return v.length;
    if (v && typeof v === 'object' && 'strings' in v && v.strings.length > 0) return v.strings.length;
  }
  return null;
}

/** Replaces or drops the graph outputs marked `unrepresentable` (see above); throws for the rest. */
export function rewriteMlOutputs(graph: IrGraph): void {
  const readers = (name: string): number => graph.nodes.filter((n) => n.inputs.includes(name) || n.implicitInputs?.includes(name)).length;
  const producer = new Map<string, IrNode>();
  for (const node of graph.nodes) for (const o of node.outputs) if (o) producer.set(o, node);
  const outputs: IrValueInfo[] = [];
  const removed = new Set<IrNode>();
  for (const out of graph.outputs) {
    if (!out.unrepresentable) {
      outputs.push(out);
      continue;
    }
    const node = producer.get(out.name);
    if (node?.domain === ML && node.opType === 'ZipMap' && node.inputs[0]) {
      const input = node.inputs[0];
      if (readers(out.name) === 0) removed.add(node);
      if (graph.outputs.some((o) => o.name === input) || outputs.some((o) => o.name === input)) continue;
      outputs.push({ name: input, dtype: 'float32', dims: [null, classCount(producer.get(input)) ?? null] });
      continue;
    }
    // A string label: dropped (it is cleared below when nothing else reads it).
    if (node?.domain === ML && CLASSIFIERS.has(node.opType) && node.outputs[0] === out.name && node.attrs.has('classlabels_strings')) continue;
    throw new MicroCompileError('unsupported_dtype', `${out.unrepresentable.replace(/; set "engine".*$/, '')}; ${ORT_FALLBACK_HINT}`);
  }
  if (outputs.length === 0) {
    throw new MicroCompileError('unsupported_dtype', `no graph output is a numeric tensor the micro engine can return (${graph.outputs.map((o) => `"${o.name}"`).join(', ')}); ${ORT_FALLBACK_HINT}`);
  }
  graph.outputs = outputs;
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  // A string label nothing reads is not computed (the emitters refuse string labels they must produce).
  for (const node of graph.nodes) {
    const label = node.outputs[0];
    if (node.domain === ML && CLASSIFIERS.has(node.opType) && label && node.attrs.has('classlabels_strings') && !outputs.some((o) => o.name === label) && readers(label) === 0) {
      node.outputs[0] = '';
    }
  }
}
