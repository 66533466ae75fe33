// Graph outputs of classical (ai.onnx.ml) models that a micro module cannot return, resolved
// before compiling: the serving core carries numeric tensors only (core/engine/types.ts).
// - ZipMap (sklearn-onnx's default "output_probability", a sequence of maps) only wraps the
//   classifier's probabilities: the module returns the ZipMap's input tensor instead, under
//   that tensor's own name (sklearn-onnx: "probabilities"), for model.json to declare.
// - A classifier's label output with string labels is dropped (model.json's output.labels name
//   the columns of the probabilities); int64 labels stay.
// - A LabelEncoder that maps such a string label to numbers (string keys → int64 or float
//   values) is folded into the classifier: the classifier answers label indices and the encoder
//   maps indices to the values, so no string tensor exists at run time.
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
  foldStringLabelEncoders(graph);
  // A string label nothing reads is not computed (the emitters refuse string labels they must produce).
  for (const node of graph.nodes) {
    const label = node.outputs[0];
    if (node.domain === ML && CLASSIFIERS.has(node.opType) && label && node.attrs.has('classlabels_strings') && !outputs.some((o) => o.name === label) && readers(label) === 0) {
      node.outputs[0] = '';
    }
  }
}

function stringList(node: IrNode, key: string): string[] | undefined {
  const v = node.attrs.get(key);
  return v && typeof v === 'object' && 'strings' in v ? v.strings : undefined;
}

/** Classifier (string labels) → LabelEncoder (string keys): the classifier answers indices, the encoder maps them (see above). */
function foldStringLabelEncoders(graph: IrGraph): void {
  const producer = new Map<string, IrNode>();
  for (const node of graph.nodes) for (const o of node.outputs) if (o) producer.set(o, node);
  for (const encoder of graph.nodes) {
    if (encoder.domain !== ML || encoder.opType !== 'LabelEncoder' || !encoder.inputs[0]) continue;
    const classifier = producer.get(encoder.inputs[0]);
    if (!classifier || classifier.domain !== ML || !CLASSIFIERS.has(classifier.opType) || classifier.outputs[0] !== encoder.inputs[0]) continue;
    const labels = stringList(classifier, 'classlabels_strings');
    if (!labels) continue;
    // Every reader of the label must be such an encoder (a string label any other node reads stays refused).
    const readers = graph.nodes.filter((n) => n.inputs.includes(encoder.inputs[0]!));
    if (readers.some((n) => n.domain !== ML || n.opType !== 'LabelEncoder')) continue;
    const foldable = (n: IrNode): boolean => !!stringList(n, 'classes_strings') || (!!stringList(n, 'keys_strings') && (n.attrs.has('values_int64s') || n.attrs.has('values_floats')));
    if (!readers.every(foldable)) continue;
    const indices = labels.map((_, k) => k);
    for (const reader of readers) {
      const keys = stringList(reader, 'keys_strings');
      const classes = stringList(reader, 'classes_strings');
      if (classes) {
        // Opset 1: a string maps to its position in classes_strings, default_int64 (-1) otherwise.
        const dflt = reader.attrs.get('default_int64');
        reader.attrs = new Map([['keys_int64s', indices], ['values_int64s', labels.map((l) => (classes.indexOf(l) >= 0 ? classes.indexOf(l) : typeof dflt === 'number' ? dflt : -1))]]);
        continue;
      }
      const valueKey = reader.attrs.has('values_int64s') ? 'values_int64s' : 'values_floats';
      const values = reader.attrs.get(valueKey) as number[];
      const dfltKey = valueKey === 'values_int64s' ? 'default_int64' : 'default_float';
      const dfltAttr = reader.attrs.get(dfltKey);
      const dflt = typeof dfltAttr === 'number' ? dfltAttr : valueKey === 'values_int64s' ? -1 : -0;
      reader.attrs.delete('keys_strings');
      reader.attrs.set('keys_int64s', indices);
      reader.attrs.set(valueKey, labels.map((l) => (keys!.indexOf(l) >= 0 ? values[keys!.indexOf(l)]! : dflt)));
    }
    classifier.attrs.delete('classlabels_strings');
    classifier.attrs.set('classlabels_int64s', indices);
  }
}
