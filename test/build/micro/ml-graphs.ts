// Test helper: ai.onnx.ml graphs written with the repo's ONNX builder, in the node layout
// sklearn-onnx emits (nodes_* in pre-order per tree, one weight per class or target at each
// leaf), and random feature rows that hit split values exactly and carry NaN (missing) values.
import * as ort from 'onnxruntime-node';
import { GraphBuilder, type AttributeValue } from '../../../build/onnx/builder.ts';
import type { Tensor, TensorMap } from '../../../core/engine/types.ts';
import { Random } from './property-harness.ts';

export const ML_DOMAIN = 'ai.onnx.ml';

/** One tree node in the attribute layout (ids local to the tree). */
export interface TreeNode {
  tree: number;
  id: number;
  feature: number;
  value: number;
  mode: string;
  trueId: number;
  falseId: number;
  missingTrue: number;
  /** BRANCH_MEMBER (opset-5 TreeEnsemble only): the set tested. */
  set?: number[];
  /** Leaf weights: target/class id → weight. */
  weights?: Array<[number, number]>;
}

/** Thresholds and features come from this grid, so rows often equal a split value exactly. */
export const GRID = [-1.5, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 1.5, 2];
/** Values of BRANCH_MEMBER sets: the integers of the grid. */
const MEMBER_VALUES = [-1, 0, 1, 2];

export interface RandomTreesOptions {
  trees: number;
  depth: number;
  features: number;
  /** Modes drawn for interior nodes. */
  modes: string[];
  /** Probability that an interior node sends NaN down its true branch. */
  missingTrue: number;
  /** Targets or classes; each leaf gets weights for `perLeaf` of them (all when undefined). */
  targets: number;
  perLeaf?: number;
  /** Weights drawn from [lo, hi). */
  weights: [number, number];
}

/** Random trees in pre-order (as sklearn numbers its nodes); leaves may end early. */
export function randomTrees(r: Random, o: RandomTreesOptions): TreeNode[] {
  const nodes: TreeNode[] = [];
  for (let t = 0; t < o.trees; t++) {
    let next = 0;
    const grow = (depth: number): number => {
      const id = next++;
      const node: TreeNode = { tree: t, id, feature: 0, value: 0, mode: 'LEAF', trueId: 0, falseId: 0, missingTrue: 0 };
      nodes.push(node);
      const leaf = depth >= o.depth || (depth > 0 && r.next() < 0.2);
      if (leaf) {
        const ids = Array.from({ length: o.targets }, (_, k) => k);
        const chosen = o.perLeaf === undefined ? ids : ids.sort(() => r.next() - 0.5).slice(0, o.perLeaf).sort((a, b) => a - b);
        node.weights = chosen.map((k) => [k, Math.fround(o.weights[0] + r.next() * (o.weights[1] - o.weights[0]))]);
        return id;
      }
      node.feature = Math.floor(r.next() * o.features);
      node.value = GRID[Math.floor(r.next() * GRID.length)]!;
      node.mode = o.modes[Math.floor(r.next() * o.modes.length)]!;
      node.missingTrue = r.next() < o.missingTrue ? 1 : 0;
      // onnxruntime implements integer sets only (categorical codes).
      if (node.mode === 'BRANCH_MEMBER') node.set = MEMBER_VALUES.filter(() => r.next() < 0.4).concat(Math.round(node.value)).filter((v, k, a) => a.indexOf(v) === k);
      node.trueId = grow(depth + 1);
      node.falseId = grow(depth + 1);
      return id;
    };
    grow(0);
  }
  return nodes;
}

/** The nodes_* attributes (and the leaf weight lists under `prefix`) of a tree ensemble. */
/** `asTensor`: the *_as_tensor forms, as float tensors (onnxruntime reads them in the input's type). */
export function ensembleAttributes(nodes: TreeNode[], prefix: 'class' | 'target', asTensor = false): Record<string, AttributeValue> {
  const leafW = nodes.flatMap((n) => (n.weights ?? []).map(([k, w]) => ({ tree: n.tree, id: n.id, k, w })));
  const floats = (name: string, values: number[]): Record<string, AttributeValue> =>
    asTensor ? { [`${name}_as_tensor`]: { tensor: { dtype: 'float32', dims: [values.length], data: Float32Array.from(values) } } } : { [name]: { floats: values } };
  const attrs: Record<string, AttributeValue> = {
    nodes_treeids: { ints: nodes.map((n) => n.tree) },
    nodes_nodeids: { ints: nodes.map((n) => n.id) },
    nodes_featureids: { ints: nodes.map((n) => n.feature) },
    ...floats('nodes_values', nodes.map((n) => n.value)),
    nodes_hitrates: { floats: nodes.map(() => 1) },
    nodes_modes: { strings: nodes.map((n) => n.mode) },
    nodes_truenodeids: { ints: nodes.map((n) => n.trueId) },
    nodes_falsenodeids: { ints: nodes.map((n) => n.falseId) },
    [`${prefix}_treeids`]: { ints: leafW.map((l) => l.tree) },
    [`${prefix}_nodeids`]: { ints: leafW.map((l) => l.id) },
    [`${prefix}_ids`]: { ints: leafW.map((l) => l.k) },
    ...floats(`${prefix}_weights`, leafW.map((l) => l.w)),
  };
  if (nodes.some((n) => n.missingTrue)) attrs.nodes_missing_value_tracks_true = { ints: nodes.map((n) => n.missingTrue) };
  return attrs;
}

/** Feature rows: grid values (exact split values), values between them, and NaN. */
export function randomRows(r: Random, rows: number, features: number, nanRate = 0.1): Float32Array {
  return Float32Array.from({ length: rows * features }, () => {
    const u = r.next();
    if (u < nanRate) return NaN;
    if (u < 0.6) return GRID[Math.floor(r.next() * GRID.length)]!;
    return (r.next() * 4 - 2);
  });
}

/** A graph of one ai.onnx.ml node over X [N, F]; outputs as given. */
export function singleNodeGraph(
  op: string,
  features: number,
  attrs: Record<string, AttributeValue>,
  outputs: Array<{ name: string; dtype: 'float32' | 'int64'; shape: Array<number | string> } | { name: string; zipmap: 'int64' | 'string' }>,
  nodeOutputs: string[],
  mlOpset = 3,
): Uint8Array {
  const g = new GraphBuilder(op);
  g.input('X', 'float32', ['N', features]);
  g.node(op, ['X'], nodeOutputs, attrs, ML_DOMAIN);
  for (const o of outputs) {
    if ('zipmap' in o) continue;
    g.output(o.name, o.dtype, o.shape);
  }
  return g.encode(17, 'edgeinfer-test', { [ML_DOMAIN]: mlOpset });
}

/** Runs a graph on onnxruntime-node (the reference), returning the requested outputs. */
export async function runOnOrtNode(bytes: Uint8Array, feeds: TensorMap, outputs: string[]): Promise<TensorMap> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
    const result = await session.run(ortFeeds, outputs);
    const out: TensorMap = {};
    for (const name of outputs) {
      const t = result[name]!;
      out[name] = { dtype: t.type as Tensor['dtype'], dims: [...t.dims], data: t.data as Float32Array } as Tensor;
    }
    return out;
  } finally {
    await session.release();
  }
}

/** The opset-5 TreeEnsemble attributes of the same trees (leaves must carry one weight each). */
export function ensemble5Attributes(nodes: TreeNode[], aggregate: number, post: number, targets: number): Record<string, AttributeValue> {
  const MODE = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ', 'BRANCH_MEMBER'];
  const interior = nodes.filter((n) => n.mode !== 'LEAF');
  const leaves = nodes.filter((n) => n.mode === 'LEAF');
  const members = interior.flatMap((n) => (n.set ? [...n.set, NaN] : []));
  const key = (tree: number, id: number) => `${tree}:${id}`;
  const interiorAt = new Map(interior.map((n, i) => [key(n.tree, n.id), i]));
  const leafAt = new Map(leaves.map((n, i) => [key(n.tree, n.id), i]));
  const child = (n: TreeNode, id: number) => interiorAt.get(key(n.tree, id)) ?? leafAt.get(key(n.tree, id))!;
  const isLeaf = (n: TreeNode, id: number) => (leafAt.has(key(n.tree, id)) ? 1 : 0);
  const f32 = (v: number[]) => ({ tensor: { dtype: 'float32' as const, dims: [v.length], data: Float32Array.from(v) } });
  return {
    nodes_featureids: { ints: interior.map((n) => n.feature) },
    nodes_splits: f32(interior.map((n) => (n.set ? 0 : n.value))),
    ...(members.length > 0 ? { membership_values: f32(members) } : {}),
    nodes_modes: { tensor: { dtype: 'uint8', dims: [interior.length], data: Uint8Array.from(interior.map((n) => MODE.indexOf(n.mode))) } },
    nodes_truenodeids: { ints: interior.map((n) => child(n, n.trueId)) },
    nodes_trueleafs: { ints: interior.map((n) => isLeaf(n, n.trueId)) },
    nodes_falsenodeids: { ints: interior.map((n) => child(n, n.falseId)) },
    nodes_falseleafs: { ints: interior.map((n) => isLeaf(n, n.falseId)) },
    nodes_missing_value_tracks_true: { ints: interior.map((n) => n.missingTrue) },
    tree_roots: { ints: [...new Set(nodes.map((n) => n.tree))].map((t) => interiorAt.get(key(t, 0))!) },
    leaf_targetids: { ints: leaves.map((n) => n.weights![0]![0]) },
    leaf_weights: f32(leaves.map((n) => n.weights![0]![1])),
    aggregate_function: { int: aggregate },
    post_transform: { int: post },
    n_targets: { int: targets },
  };
}
