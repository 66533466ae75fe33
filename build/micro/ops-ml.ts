// ai.onnx.ml ops (classical models). Keys carry the domain: "ai.onnx.ml.<Op>".
// Tree ensembles compile to flat typed arrays (feature, threshold, children, leaf weights)
// walked by one tight loop, as treelite's and m2cgen's data layouts do; the scoring and
// post-transform semantics follow onnxruntime's CPU kernels, the reference the tests use.
import type { AttrValue } from './model-ir.ts';
import { literal, type Dim, type Value } from './module-writer.ts';
import { attr, requireDtype, type OpContext, type OpEmitter } from './ops.ts';

/** Input dtypes the classical ops accept (int64 computes in doubles, as everywhere in the module). */
export const NUMERIC = ['float32', 'int32', 'int64'] as const;

export function strings(ctx: OpContext, name: string): string[] | undefined {
  const v = attr(ctx, name);
  if (v && typeof v === 'object' && 'strings' in v) return v.strings;
  return undefined;
}
export function text(ctx: OpContext, name: string, fallback: string): string {
  const v = attr(ctx, name);
  return typeof v === 'string' ? v : fallback;
}
export function numbers(v: AttrValue | undefined): number[] | undefined {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object' && 'doubles' in v) return Array.from(v.doubles);
  if (v && typeof v === 'object' && 'data' in v) return Array.from(v.data as ArrayLike<number>);
  return undefined;
}
/** A float list attribute or its `<name>_as_tensor` (double) form; `wide` says which was given. */
export function floatsOrTensor(ctx: OpContext, name: string): { values: number[]; wide: boolean } | undefined {
  const tensor = numbers(attr(ctx, `${name}_as_tensor`));
  if (tensor) return { values: tensor, wide: true };
  const plain = numbers(attr(ctx, name));
  return plain ? { values: plain, wide: false } : undefined;
}
export function ints(ctx: OpContext, name: string): number[] | undefined {
  return numbers(attr(ctx, name));
}

export const POST_TRANSFORMS = ['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO', 'PROBIT'] as const;
export type PostTransform = (typeof POST_TRANSFORMS)[number];

export function postTransformOf(ctx: OpContext): PostTransform {
  const p = text(ctx, 'post_transform', 'NONE');
  if (!(POST_TRANSFORMS as readonly string[]).includes(p)) ctx.fail('unsupported_op', `post_transform "${p}" is not one of ${POST_TRANSFORMS.join(', ')}`);
  return p as PostTransform;
}

/** The feature matrix: [N, F] (or [F], one row). */
export function featureInput(ctx: OpContext): { x: Value; rows: Dim; features: Dim } {
  const x = ctx.need(0);
  requireDtype(ctx, x, NUMERIC, 'the input');
  if (x.dims.length === 1) return { x, rows: 1, features: x.dims[0]! };
  if (x.dims.length !== 2) ctx.fail('unsupported_shape', `the input has rank ${x.dims.length}; the micro engine implements this op for [N, F] and [F] inputs`);
  return { x, rows: x.dims[0]!, features: x.dims[1]! };
}

/**
 * onnxruntime's post transforms (ml_common.h), in doubles: its probit uses the same
 * erfinv approximation (Winitzki's), so probit outputs match it rather than the exact inverse.
 */
export const ML_TRANSFORMS = `// Post transforms of the ai.onnx.ml ops, as onnxruntime computes them.
function mlLogistic(v) {
  const s = 1 / (1 + Math.exp(-Math.abs(v)));
  return v < 0 ? 1 - s : s;
}
// In float32 steps, as onnxruntime computes it (its result near 0.5 depends on the rounding).
function mlProbit(v) {
  const f = Math.fround;
  let x = f(f(2 * f(v)) - 1);
  const sign = x < 0 ? -1 : 1;
  x = f(f(1 - x) * f(1 + x));
  const log = f(Math.log(x));
  const a = f(f(2 / f(f(3.14159) * f(0.147))) + f(0.5 * log));
  const b = f(f(1 / f(0.147)) * log);
  const c = f(-a + f(Math.sqrt(f(a * a - b))));
  return f(f(1.41421356) * f(sign * f(Math.sqrt(c))));
}
// Transforms scores s[0..n) in place (n >= 2 or any transform applied element-wise).
function mlTransform(kind, s, n) {
  if (kind === 1) for (let i = 0; i < n; i++) s[i] = mlLogistic(s[i]);
  else if (kind === 4) for (let i = 0; i < n; i++) s[i] = mlProbit(s[i]);
  else if (kind === 2 || kind === 3) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (s[i] > max) max = s[i];
    let sum = 0;
    const scale = Math.exp(-max);
    for (let i = 0; i < n; i++) {
      if (kind === 3 && !(s[i] > 1e-7 || s[i] < -1e-7)) s[i] *= scale;
      else {
        s[i] = Math.exp(s[i] - max);
        sum += s[i];
      }
    }
    for (let i = 0; i < n; i++) s[i] /= sum;
  }
}`;

export const TRANSFORM_CODE: Record<PostTransform, number> = { NONE: 0, LOGISTIC: 1, SOFTMAX: 2, SOFTMAX_ZERO: 3, PROBIT: 4 };

// ---------------------------------------------------------------------------------------
// Tree ensembles

const MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ', 'LEAF'] as const;
const LEAF = 6;
/** Set membership, the opset-5 TreeEnsemble's mode 6 (no node of the older ops has it). */
const MEMBER = 6;
const COMPARE = ['<=', '<', '>=', '>', '===', '!=='];

interface Leaf {
  targets: number[];
  weights: number[];
}

/** Trees in flat arrays: node i tests x[feature[i]] against threshold[i]; children < 0 are leaves (~index). */
interface FlatEnsemble {
  trees: number;
  roots: number[];
  feature: number[];
  threshold: number[];
  mode: number[];
  missingTrue: number[];
  left: number[];
  right: number[];
  leaves: Leaf[];
  wideThresholds: boolean;
  /** BRANCH_MEMBER (mode 6, opset-5 TreeEnsemble) nodes: threshold[i] is an index into these sets. */
  sets: number[][];
  wideWeights: boolean;
  maxFeature: number;
}

/** Reads the nodes_* and <prefix>_* attributes (opset 1–3 layout) into flat arrays. */
function readEnsemble(ctx: OpContext, prefix: 'class' | 'target'): FlatEnsemble {
  const treeIds = ints(ctx, 'nodes_treeids');
  const nodeIds = ints(ctx, 'nodes_nodeids');
  const featureIds = ints(ctx, 'nodes_featureids');
  const values = floatsOrTensor(ctx, 'nodes_values');
  const modes = strings(ctx, 'nodes_modes');
  const trueIds = ints(ctx, 'nodes_truenodeids');
  const falseIds = ints(ctx, 'nodes_falsenodeids');
  const tracks = ints(ctx, 'nodes_missing_value_tracks_true') ?? [];
  if (!treeIds || !nodeIds || !featureIds || !modes || !trueIds || !falseIds) {
    ctx.fail('invalid_model', 'a tree ensemble needs nodes_treeids, nodes_nodeids, nodes_featureids, nodes_modes, nodes_truenodeids and nodes_falsenodeids');
  }
  const count = treeIds.length;
  for (const [name, list] of [['nodes_nodeids', nodeIds], ['nodes_featureids', featureIds], ['nodes_modes', modes], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds]] as const) {
    if (list.length !== count) ctx.fail('invalid_model', `${name} has ${list.length} entries, nodes_treeids ${count}`);
  }
  const thresholds = values?.values ?? new Array<number>(count).fill(0);
  if (thresholds.length !== count) ctx.fail('invalid_model', `nodes_values has ${thresholds.length} entries, nodes_treeids ${count}`);
  if (tracks.length !== 0 && tracks.length !== count) ctx.fail('invalid_model', `nodes_missing_value_tracks_true has ${tracks.length} entries, nodes_treeids ${count}`);
  ctx.w.checkElements(count, 'the tree nodes');

  // (tree, node id) → global index; trees in order of first appearance.
  const index = new Map<string, number>();
  const treeOrder: number[] = [];
  const seenTrees = new Set<number>();
  for (let i = 0; i < count; i++) {
    const key = `${treeIds[i]}:${nodeIds[i]}`;
    if (index.has(key)) ctx.fail('invalid_model', `tree ${treeIds[i]} has node id ${nodeIds[i]} twice`);
    index.set(key, i);
    if (!seenTrees.has(treeIds[i]!)) {
      seenTrees.add(treeIds[i]!);
      treeOrder.push(treeIds[i]!);
    }
  }
  const modeCodes = modes.map((m) => {
    const k = (MODES as readonly string[]).indexOf(m);
    if (k < 0) ctx.fail('unsupported_op', `node mode "${m}" is not one of ${MODES.join(', ')} (BRANCH_MEMBER needs the opset-5 TreeEnsemble)`);
    return k;
  });

  // Leaf weights by (tree, node id).
  const wTree = ints(ctx, `${prefix}_treeids`) ?? [];
  const wNode = ints(ctx, `${prefix}_nodeids`) ?? [];
  const wIds = ints(ctx, `${prefix}_ids`) ?? [];
  const weights = floatsOrTensor(ctx, `${prefix}_weights`);
  const wValues = weights?.values ?? [];
  if (wNode.length !== wTree.length || wIds.length !== wTree.length || wValues.length !== wTree.length) {
    ctx.fail('invalid_model', `${prefix}_treeids, ${prefix}_nodeids, ${prefix}_ids and ${prefix}_weights must have one entry per leaf weight`);
  }
  const leafOf = new Map<number, Leaf>();
  for (let k = 0; k < wTree.length; k++) {
    const at = index.get(`${wTree[k]}:${wNode[k]}`);
    if (at === undefined) ctx.fail('invalid_model', `${prefix} weight ${k} names tree ${wTree[k]} node ${wNode[k]}, which nodes_* do not define`);
    let leaf = leafOf.get(at);
    if (!leaf) leafOf.set(at, (leaf = { targets: [], weights: [] }));
    leaf.targets.push(wIds[k]!);
    leaf.weights.push(wValues[k]!);
  }

  // Renumber: interior nodes get dense indices, leaves ~k; every reachable node once.
  const flat: FlatEnsemble = {
    trees: treeOrder.length, roots: [], feature: [], threshold: [], mode: [], missingTrue: [], left: [], right: [], leaves: [],
    wideThresholds: values?.wide ?? false, wideWeights: weights?.wide ?? false, maxFeature: -1, sets: [],
  };
  const placed = new Map<number, number>();
  const place = (at: number, tree: number, depth: number): number => {
    const known = placed.get(at);
    if (known !== undefined) return known;
    if (depth > 4096) ctx.fail('invalid_model', `tree ${tree} is deeper than 4096 levels or has a cycle`);
    if (modeCodes[at] === LEAF) {
      const ref = ~flat.leaves.length;
      flat.leaves.push(leafOf.get(at) ?? { targets: [], weights: [] });
      placed.set(at, ref);
      return ref;
    }
    const i = flat.feature.length;
    placed.set(at, i);
    const f = featureIds[at]!;
    if (!Number.isInteger(f) || f < 0) ctx.fail('invalid_model', `tree ${tree} node ${nodeIds[at]} reads feature ${f}`);
    flat.maxFeature = Math.max(flat.maxFeature, f);
    flat.feature.push(f);
    flat.threshold.push(thresholds[at]!);
    flat.mode.push(modeCodes[at]!);
    flat.missingTrue.push(tracks[at] ? 1 : 0);
    flat.left.push(0);
    flat.right.push(0);
    const child = (id: number, side: string): number => {
      const c = index.get(`${tree}:${id}`);
      if (c === undefined) ctx.fail('invalid_model', `tree ${tree} node ${nodeIds[at]} has ${side} node ${id}, which nodes_* do not define`);
      return place(c, tree, depth + 1);
    };
    flat.left[i] = child(trueIds[at]!, 'true');
    flat.right[i] = child(falseIds[at]!, 'false');
    return i;
  };
  for (const tree of treeOrder) {
    // The root is node id 0 when present (onnxruntime's rule), else the tree's first node.
    const root = index.get(`${tree}:0`) ?? treeIds.indexOf(tree);
    flat.roots.push(place(root, tree, 0));
  }
  return flat;
}

interface EnsembleCode {
  /** Lines that walk every tree for row `row` (feature base index), adding leaf weights into acc (and has). */
  lines: string[];
}

/** Emits the constants and the per-row walk of an ensemble; weights go to `acc[target]`, `has[target] = 1`. */
function walkEnsemble(ctx: OpContext, e: FlatEnsemble, x: Value, p: { acc: string; has: string | null; combine: 'sum' | 'min' | 'max'; targets: number }): EnsembleCode {
  const w = ctx.w;
  const I32 = (a: number[]) => w.constant(Int32Array.from(a));
  const F = (a: number[], wide: boolean) => w.constant(wide ? Float64Array.from(a) : Float32Array.from(a));
  const interior = e.feature.length;
  const lines: string[] = [];
  // Targets outside [0, targets) are refused now rather than written out of bounds later.
  for (const leaf of e.leaves) {
    for (const t of leaf.targets) if (!Number.isInteger(t) || t < 0 || t >= p.targets) ctx.fail('invalid_model', `a leaf weight is for target/class ${t}, outside [0, ${p.targets})`);
  }
  const one = e.leaves.every((l) => l.targets.length === 1);
  const single = p.targets === 1 && one;
  const modes = new Set(e.mode);
  const tracks = e.missingTrue.some((m) => m === 1);
  const allTrack = e.missingTrue.every((m) => m === 1);
  const roots = I32(e.roots);
  let test = '';
  if (interior > 0) {
    const feature = I32(e.feature);
    const threshold = F(e.threshold, e.wideThresholds);
    const left = I32(e.left);
    const right = I32(e.right);
    const [mode] = [...modes];
    let memberOf = (_set: string): string => '';
    if (modes.has(MEMBER)) {
      // Sets as CSR: values of set s are setValues[setStart[s] .. setStart[s + 1]).
      const starts = [0];
      for (const set of e.sets) starts.push(starts[starts.length - 1]! + set.length);
      const values = F(e.sets.flat(), e.wideThresholds);
      // onnxruntime 1.30 (measured): a set of fewer than 31 values in [0, 30] becomes a chain of
      // BRANCH_EQ nodes (x equals a member); any other set is its "big set", tested on x truncated to an integer.
      const truncate = w.constant(Uint8Array.from(e.sets.map((set) => (set.length < 31 && Math.min(...set) >= 0 && Math.max(...set) <= 30 ? 0 : 1))));
      const helper = w.helper(
        'mlMember',
        `// BRANCH_MEMBER: whether x (truncated for onnxruntime's big sets) is one of set s; NaN never is.\nfunction mlMember(values, starts, truncate, s, x) {\n  const y = truncate[s] === 1 ? Math.trunc(x) : x;\n  for (let k = starts[s], end = starts[s + 1]; k < end; k++) if (values[k] === y) return true;\n  return false;\n}`,
      );
      const startArr = I32(starts);
      memberOf = (set) => `${helper}(${values}, ${startArr}, ${truncate}, ${set}, x)`;
    }
    let cond: string;
    if (modes.size === 1) cond = mode === MEMBER ? memberOf(`${threshold}[i]`) : `x ${COMPARE[mode!]} ${threshold}[i]`;
    else {
      const modeArr = w.constant(Uint8Array.from(e.mode));
      lines.push(`// Node modes: 0 <=, 1 <, 2 >=, 3 >, 4 ==, 5 !=, 6 member of a set`);
      cond = `(m$ === 0 ? x <= v : m$ === 1 ? x < v : m$ === 2 ? x >= v : m$ === 3 ? x > v : m$ === 4 ? x === v : ${modes.has(MEMBER) ? `m$ === 5 ? x !== v : ${memberOf('v')}` : 'x !== v'})`;
      test = modeArr;
    }
    // NaN goes down the true branch where nodes_missing_value_tracks_true says so.
    if (tracks) cond = allTrack ? `${cond} || x !== x` : `${cond} || (x !== x && ${w.constant(Uint8Array.from(e.missingTrue))}[i] === 1)`;
    const walk = [
      `while (i >= 0) {`,
      `  const x = ${x.buf}[row + ${feature}[i]];`,
      ...(test ? [`  const v = ${threshold}[i];`, `  const m$ = ${test}[i];`] : []),
      `  i = ${cond} ? ${left}[i] : ${right}[i];`,
      `}`,
    ];
    lines.push(`for (let t = 0; t < ${e.trees}; t++) {`, `  let i = ${roots}[t];`, ...walk.map((l) => `  ${l}`));
  } else {
    lines.push(`for (let t = 0; t < ${e.trees}; t++) {`, `  let i = ${roots}[t];`);
  }
  lines.push(`  i = ~i;`);
  const add = (target: string, weight: string): string[] => {
    const slot = `${p.acc}[${target}]`;
    const has = p.has ? `${p.has}[${target}]` : '';
    if (p.combine === 'sum') return [`${slot} += ${weight};`, ...(has ? [`${has} = 1;`] : [])];
    const better = p.combine === 'min' ? '<' : '>';
    return [`if (${has} === 0 || ${weight} ${better} ${slot}) ${slot} = ${weight};`, `${has} = 1;`];
  };
  const weightOf = F(e.leaves.flatMap((l) => l.weights), e.wideWeights);
  if (single) {
    lines.push(...add('0', `${weightOf}[i]`).map((l) => `  ${l}`));
  } else {
    const offsets: number[] = [0];
    for (const l of e.leaves) offsets.push(offsets[offsets.length - 1]! + l.targets.length);
    const off = I32(offsets);
    const tgt = I32(e.leaves.flatMap((l) => l.targets));
    lines.push(`  for (let k = ${off}[i], end = ${off}[i + 1]; k < end; k++) {`, `    const c = ${tgt}[k];`, `    const wk = ${weightOf}[k];`, ...add('c', 'wk').map((l) => `    ${l}`), `  }`);
  }
  lines.push('}');
  return { lines };
}

function checkFeatures(ctx: OpContext, e: FlatEnsemble, features: Dim): void {
  if (e.maxFeature < 0) return;
  if (typeof features === 'number') {
    if (e.maxFeature >= features) ctx.fail('invalid_model', `the trees read feature ${e.maxFeature} but the input has ${features} features`);
  } else {
    ctx.w.emitScoped(`if (${features} <= ${e.maxFeature}) fail("bad_input", "node " + ${ctx.w.nodeRef(ctx.node.name)} + ": the trees read feature ${e.maxFeature} but the input has " + ${features} + " features");`);
  }
}

const treeEnsembleRegressor: OpEmitter = (ctx) => {
  const e = readEnsemble(ctx, 'target');
  const aggregate = text(ctx, 'aggregate_function', 'SUM');
  if (!['SUM', 'AVERAGE', 'MIN', 'MAX'].includes(aggregate)) ctx.fail('unsupported_op', `aggregate_function "${aggregate}" is not one of SUM, AVERAGE, MIN, MAX`);
  const base = floatsOrTensor(ctx, 'base_values')?.values ?? [];
  emitRegression(ctx, e, aggregate, postTransformOf(ctx), base);
};

/**
 * The opset-5 TreeEnsemble: nodes indexed globally, roots in tree_roots, children flagged as
 * leaves by nodes_trueleafs/nodes_falseleafs, one (target, weight) per leaf, enums as ints.
 */
const treeEnsemble5: OpEmitter = (ctx) => {
  const need = (name: string): number[] => numbers(attr(ctx, name)) ?? ctx.fail('invalid_model', `TreeEnsemble needs ${name}`);
  const feature = need('nodes_featureids');
  const splits = need('nodes_splits');
  const modes = need('nodes_modes');
  const trueIds = need('nodes_truenodeids');
  const falseIds = need('nodes_falsenodeids');
  const trueLeaf = numbers(attr(ctx, 'nodes_trueleafs')) ?? [];
  const falseLeaf = numbers(attr(ctx, 'nodes_falseleafs')) ?? [];
  const tracks = numbers(attr(ctx, 'nodes_missing_value_tracks_true')) ?? [];
  const roots = need('tree_roots');
  const leafTargets = need('leaf_targetids');
  const leafWeights = need('leaf_weights');
  const count = feature.length;
  for (const [name, list] of [['nodes_splits', splits], ['nodes_modes', modes], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds]] as const) {
    if (list.length !== count) ctx.fail('invalid_model', `${name} has ${list.length} entries, nodes_featureids ${count}`);
  }
  if (leafWeights.length !== leafTargets.length) ctx.fail('invalid_model', 'leaf_targetids and leaf_weights differ in length');
  if (modes.some((m) => !Number.isInteger(m) || m < 0 || m > MEMBER)) ctx.fail('unsupported_op', `a node mode is outside 0–6 (BRANCH_LEQ … BRANCH_MEMBER)`);
  // membership_values: the sets of the BRANCH_MEMBER nodes in node order, each ended by NaN.
  const members = numbers(attr(ctx, 'membership_values')) ?? [];
  const setOf = new Map<number, number[]>();
  let cursor = 0;
  modes.forEach((m, at) => {
    if (m !== MEMBER) return;
    const set: number[] = [];
    while (cursor < members.length && !Number.isNaN(members[cursor]!)) set.push(members[cursor++]!);
    cursor++;
    if (set.length === 0) ctx.fail('invalid_model', `BRANCH_MEMBER node ${at} has an empty set in membership_values`);
    // onnxruntime refuses sets of non-integers (categorical codes only).
    if (set.some((v) => !Number.isInteger(v) || Math.abs(v) > 2 ** 31)) ctx.fail('unsupported_op', `BRANCH_MEMBER node ${at} tests non-integer values; onnxruntime implements integer sets only, so there is no reference to match`);
    setOf.set(at, set);
  });
  ctx.w.checkElements(count, 'the tree nodes');
  const wideOf = (name: string): boolean => {
    const v = attr(ctx, name);
    return !!v && typeof v === 'object' && 'doubles' in v;
  };
  const e: FlatEnsemble = {
    trees: roots.length, roots: [], feature: [], threshold: [], mode: [], missingTrue: [], left: [], right: [], leaves: [],
    wideThresholds: wideOf('nodes_splits'), wideWeights: wideOf('leaf_weights'), maxFeature: -1, sets: [],
  };
  const placed = new Map<number, number>();
  const leafRef = (k: number): number => {
    if (!Number.isInteger(k) || k < 0 || k >= leafTargets.length) ctx.fail('invalid_model', `leaf ${k} is outside the ${leafTargets.length} leaves`);
    e.leaves.push({ targets: [leafTargets[k]!], weights: [leafWeights[k]!] });
    return ~(e.leaves.length - 1);
  };
  const place = (at: number, depth: number): number => {
    if (!Number.isInteger(at) || at < 0 || at >= count) ctx.fail('invalid_model', `node ${at} is outside the ${count} nodes`);
    const known = placed.get(at);
    if (known !== undefined) return known;
    if (depth > 4096) ctx.fail('invalid_model', 'a tree is deeper than 4096 levels or has a cycle');
    const i = e.feature.length;
    placed.set(at, i);
    e.maxFeature = Math.max(e.maxFeature, feature[at]!);
    e.feature.push(feature[at]!);
    const set = setOf.get(at);
    if (set) e.sets.push(set);
    e.threshold.push(set ? e.sets.length - 1 : splits[at]!);
    e.mode.push(modes[at]!);
    e.missingTrue.push(tracks[at] ? 1 : 0);
    e.left.push(0);
    e.right.push(0);
    e.left[i] = trueLeaf[at] ? leafRef(trueIds[at]!) : place(trueIds[at]!, depth + 1);
    e.right[i] = falseLeaf[at] ? leafRef(falseIds[at]!) : place(falseIds[at]!, depth + 1);
    return i;
  };
  // A tree whose root is a leaf: onnxruntime marks it with a single node whose both children are that leaf.
  for (const r of roots) e.roots.push(place(r, 0));
  const AGGREGATES = ['AVERAGE', 'SUM', 'MIN', 'MAX'];
  const TRANSFORMS: PostTransform[] = ['NONE', 'SOFTMAX', 'LOGISTIC', 'SOFTMAX_ZERO', 'PROBIT'];
  const aggregate = AGGREGATES[typeof attr(ctx, 'aggregate_function') === 'number' ? (attr(ctx, 'aggregate_function') as number) : 1] ?? ctx.fail('invalid_model', 'aggregate_function is out of range');
  const post = TRANSFORMS[typeof attr(ctx, 'post_transform') === 'number' ? (attr(ctx, 'post_transform') as number) : 0] ?? ctx.fail('invalid_model', 'post_transform is out of range');
  if (post === 'SOFTMAX' || post === 'LOGISTIC') {
    // Measured: onnxruntime 1.30 reads 1 as LOGISTIC and 2 as SOFTMAX, against the ONNX spec (1 SOFTMAX, 2 LOGISTIC).
    ctx.fail(
      'unsupported_op',
      `post_transform ${post === 'SOFTMAX' ? 1 : 2} (${post} in the ONNX spec) is read as ${post === 'SOFTMAX' ? 'LOGISTIC' : 'SOFTMAX'} by onnxruntime, so the answer would depend on the engine; use post_transform 0 (NONE) followed by a Softmax or Sigmoid node, which every engine reads alike`,
    );
  }
  emitRegression(ctx, e, aggregate, post, []);
};

/** Scores rows of a regression ensemble: aggregate over trees, base values, post transform (onnxruntime's rules). */
function emitRegression(ctx: OpContext, e: FlatEnsemble, aggregate: string, post: PostTransform, base: number[]): void {
  const { x, rows, features } = featureInput(ctx);
  checkFeatures(ctx, e, features);
  const targets = typeof attr(ctx, 'n_targets') === 'number' ? (attr(ctx, 'n_targets') as number) : 1;
  if (!Number.isInteger(targets) || targets < 1) ctx.fail('invalid_model', `n_targets is ${targets}`);
  const w = ctx.w;
  const y = ctx.output(0, 'float32', [rows, targets]);
  const acc = w.scratch(targets);
  const combine = aggregate === 'MIN' ? 'min' : aggregate === 'MAX' ? 'max' : 'sum';
  const has = combine === 'sum' ? null : w.alloc('uint8', [targets]);
  const walk = walkEnsemble(ctx, e, x, { acc, has, combine, targets });
  // onnxruntime: base values count only when there is one per target (a single target also takes a single one).
  const useBase = base.length === targets;
  const baseOf = (j: string): string => (useBase ? (targets === 1 ? literal(base[0]!) : `${w.constant(Float64Array.from(base))}[${j}]`) : '0');
  const finish: string[] = [];
  finish.push(`for (let j = 0; j < ${targets}; j++) {`);
  if (aggregate === 'AVERAGE') finish.push(`  ${acc}[j] = ${acc}[j] / ${e.trees} + ${baseOf('j')};`);
  else finish.push(`  ${acc}[j] += ${baseOf('j')};`);
  finish.push('}');
  // One target: onnxruntime applies only PROBIT; several: the full post transform.
  if (post !== 'NONE' && (targets > 1 || post === 'PROBIT')) {
    w.helper('mlTransform', ML_TRANSFORMS);
    finish.push(`mlTransform(${TRANSFORM_CODE[post]}, ${acc}, ${targets});`);
  }
  w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${features};`,
    `  ${acc}.fill(0, 0, ${targets});`,
    ...(has ? [`  ${has}.fill(0);`] : []),
    ...walk.lines.map((l) => `  ${l}`),
    ...finish.map((l) => `  ${l}`),
    `  for (let j = 0; j < ${targets}; j++) ${y.buf}[n * ${targets} + j] = ${acc}[j];`,
    `}`,
  );
}

/** Class labels: int64 values, or strings (then only the probabilities may leave the module). */
export function classLabels(ctx: OpContext): { ints: number[] | null; count: number } {
  const names = strings(ctx, 'classlabels_strings');
  const values = ints(ctx, 'classlabels_int64s') ?? ints(ctx, 'classlabels_ints');
  if (names && names.length > 0) {
    if (ctx.node.outputs[0]) {
      ctx.fail(
        'unsupported_dtype',
        'its label output is a string tensor, which the serving core does not carry; make the probabilities the graph output (sklearn-onnx: options={"zipmap": False}, labels in model.json "output.labels") and drop the label output',
      );
    }
    return { ints: null, count: names.length };
  }
  if (!values || values.length === 0) ctx.fail('invalid_model', 'a classifier needs classlabels_int64s or classlabels_strings');
  return { ints: values, count: values.length };
}

/**
 * onnxruntime's classifier finish (TreeAggregatorClassifier::FinalizeScores): base values,
 * the two-class special cases (one scored class written as [1 - p, p] or [-s, s]), the post
 * transform and the label (index of the highest scored class).
 */
const TREE_CLASSIFIER_FINISH = `// Finishes one row of a tree ensemble classifier as onnxruntime does; returns the label index
// (or ~value when onnxruntime answers a value instead of a label).
function treeClassifierFinish(acc, has, classes, base, binary, positive, post, z, at) {
  let label = 0;
  if (classes > 2) {
    for (let k = 0; k < base.length; k++) {
      acc[k] += base[k];
      has[k] = 1;
    }
    let best = -1;
    for (let k = 0; k < classes; k++) if (has[k] && (best === -1 || acc[k] > acc[best])) best = k;
    label = best < 0 ? 0 : best;
    mlTransform(post, acc, classes);
    for (let k = 0; k < classes; k++) z[at + k] = acc[k];
    return label;
  }
  let n = 2;
  let extra = -1;
  if (base.length === 2) {
    if (has[1]) {
      // As onnxruntime does: class 1's own score is replaced, class 0's is kept.
      acc[1] = base[1] + acc[0];
    } else {
      // onnxruntime leaves the unscored class 1 at 0 here.
      acc[0] += base[0];
    }
  } else if (base.length === 1) {
    acc[0] += base[0];
    if (!has[1]) n = 1;
  } else {
    extra = 3;
    if (!has[1]) n = 1;
  }
  const pos = n === 2 && has[1] ? acc[1] : has[0] ? acc[0] : 0;
  if (binary) {
    if (positive) {
      label = pos > 0.5 ? 1 : 0;
      extra = pos > 0.5 ? 0 : 1;
    } else {
      label = pos > 0 ? 1 : 0;
      extra = pos > 0 ? 2 : 3;
    }
  } else {
    // onnxruntime answers the values 1 / 0 here, not the class labels (~: a value, not an index).
    label = pos > 0 ? ~1 : ~0;
  }
  if (n === 2) {
    mlTransform(post, acc, 2);
    z[at] = acc[0];
    z[at + 1] = acc[1];
    return label;
  } else if (extra === 0 || extra === 1) {
    acc[1] = acc[0];
    acc[0] = 1 - acc[0];
  } else if (post === 1) {
    acc[1] = mlLogistic(acc[0]);
    acc[0] = mlLogistic(-acc[0]);
  } else {
    acc[1] = acc[0];
    acc[0] = -acc[0];
  }
  z[at] = acc[0];
  z[at + 1] = acc[1];
  return label;
}`;

const treeEnsembleClassifier: OpEmitter = (ctx) => {
  const { x, rows, features } = featureInput(ctx);
  const labels = classLabels(ctx);
  const classes = labels.count;
  const e = readEnsemble(ctx, 'class');
  checkFeatures(ctx, e, features);
  const post = postTransformOf(ctx);
  const base = floatsOrTensor(ctx, 'base_values')?.values ?? [];
  const w = ctx.w;
  const weightClasses = new Set(e.leaves.flatMap((l) => l.targets));
  const binary = classes === 2 && weightClasses.size === 1;
  const positive = e.leaves.every((l) => l.weights.every((v) => v >= 0));
  if (binary && post === 'PROBIT' && weightClasses.has(0) && base.length < 2) {
    ctx.fail('unsupported_op', 'PROBIT on two classes with only class 0 weighted: onnxruntime writes one probability and leaves the other unset, so there is no defined result to reproduce; use post_transform LOGISTIC or NONE');
  }
  const label = ctx.node.outputs[0] ? ctx.output(0, 'int64', [rows]) : undefined;
  const z = ctx.output(1, 'float32', [rows, classes]);
  const acc = w.scratch(Math.max(2, classes));
  const has = w.alloc('uint8', [Math.max(2, classes)]);
  const walk = walkEnsemble(ctx, e, x, { acc, has, combine: 'sum', targets: classes });
  w.helper('mlTransform', ML_TRANSFORMS);
  const finish = w.helper('treeClassifierFinish', TREE_CLASSIFIER_FINISH);
  const baseArr = base.length > 0 ? w.constant(Float64Array.from(base)) : 'EMPTY$';
  if (base.length === 0) w.helper('EMPTY$', 'const EMPTY$ = new Float64Array(0);');
  const labelValues = labels.ints ? w.constant(Float64Array.from(labels.ints)) : '';
  const zf = w.scratch(classes);
  w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${features};`,
    `  ${acc}.fill(0);`,
    `  ${has}.fill(0);`,
    ...walk.lines.map((l) => `  ${l}`),
    `  const k = ${finish}(${acc}, ${has}, ${classes}, ${baseArr}, ${binary}, ${positive}, ${TRANSFORM_CODE[post]}, ${zf}, 0);`,
    `  for (let j = 0; j < ${classes}; j++) ${z.buf}[n * ${classes} + j] = ${zf}[j];`,
    ...(label ? [`  ${label.buf}[n] = k >= 0 ? ${labelValues}[k] : ~k;`] : []),
    `}`,
  );
};

// ---------------------------------------------------------------------------------------
// Linear models, Scaler, Normalizer

export function staticCount(ctx: OpContext, features: Dim): number {
  if (typeof features !== 'number') return ctx.fail('unsupported_shape', 'the feature count must be static');
  return features;
}

const linearRegressor: OpEmitter = (ctx) => {
  const { x, rows, features } = featureInput(ctx);
  const coefficients = floatsOrTensor(ctx, 'coefficients')?.values ?? ctx.fail('invalid_model', 'LinearRegressor needs coefficients');
  const targets = typeof attr(ctx, 'targets') === 'number' ? (attr(ctx, 'targets') as number) : 1;
  const intercepts = floatsOrTensor(ctx, 'intercepts')?.values ?? [];
  const post = postTransformOf(ctx);
  if (post !== 'NONE' && post !== 'PROBIT') ctx.fail('unsupported_op', `post_transform "${post}" on a LinearRegressor (onnxruntime implements NONE and PROBIT)`);
  const F = staticCount(ctx, features);
  if (coefficients.length !== targets * F) ctx.fail('invalid_model', `coefficients has ${coefficients.length} values, targets × features is ${targets * F}`);
  if (intercepts.length !== 0 && intercepts.length !== targets) ctx.fail('invalid_model', `intercepts has ${intercepts.length} values for ${targets} targets`);
  emitLinear(ctx, x, rows, F, targets, coefficients, intercepts, (acc) => {
    if (post !== 'PROBIT') return [];
    ctx.w.helper('mlTransform', ML_TRANSFORMS);
    return [`mlTransform(4, ${acc}, ${targets});`];
  }, ctx.output(0, 'float32', [rows, targets]).buf);
};

/** y[n, t] = sum_f x[n, f] * W[t, f] + b[t] into `out`; `finish` may transform acc[0..targets). */
function emitLinear(ctx: OpContext, x: Value, rows: Dim, features: number, targets: number, coefficients: number[], intercepts: number[], finish: (acc: string) => string[], out: string): void {
  const w = ctx.w;
  const W = w.constant(Float32Array.from(coefficients));
  const b = intercepts.length ? w.constant(Float32Array.from(intercepts)) : '';
  const acc = w.scratch(Math.max(2, targets));
  w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${features};`,
    `  for (let t = 0; t < ${targets}; t++) {`,
    `    let s = ${b ? `${b}[t]` : '0'};`,
    `    const wr = t * ${features};`,
    `    for (let f = 0; f < ${features}; f++) s += ${x.buf}[row + f] * ${W}[wr + f];`,
    `    ${acc}[t] = s;`,
    `  }`,
    ...finish(acc).map((l) => `  ${l}`),
    `  for (let t = 0; t < ${targets}; t++) ${out}[n * ${targets} + t] = ${acc}[t];`,
    `}`,
  );
}

const LINEAR_CLASSIFIER_FINISH = `// Label and scores of one row of a LinearClassifier as onnxruntime computes them.
function linearClassifierFinish(acc, rows, classes, post, z, at) {
  let label;
  if (rows === 1) {
    // One weight row for two classes: the score is the positive class's.
    const s = acc[0];
    label = s > 0 ? 1 : 0;
    if (post === 1) {
      z[at] = mlLogistic(-s);
      z[at + 1] = mlLogistic(s);
    } else {
      // onnxruntime writes [1 - s, s] for every other post transform.
      z[at] = 1 - s;
      z[at + 1] = s;
    }
    return label;
  }
  let best = 0;
  for (let k = 1; k < rows; k++) if (acc[k] > acc[best]) best = k;
  mlTransform(post, acc, rows);
  for (let k = 0; k < rows; k++) z[at + k] = acc[k];
  return best;
}`;

const linearClassifier: OpEmitter = (ctx) => {
  const { x, rows, features } = featureInput(ctx);
  const labels = classLabels(ctx);
  const coefficients = floatsOrTensor(ctx, 'coefficients')?.values ?? ctx.fail('invalid_model', 'LinearClassifier needs coefficients');
  const intercepts = floatsOrTensor(ctx, 'intercepts')?.values ?? [];
  const post = postTransformOf(ctx);
  const weightRows = coefficients.length / staticCount(ctx, features);
  if (!Number.isInteger(weightRows) || weightRows < 1) ctx.fail('invalid_model', `coefficients has ${coefficients.length} values, not a multiple of the ${features} features`);
  if (weightRows !== labels.count && !(weightRows === 1 && labels.count === 2)) {
    ctx.fail('unsupported_op', `${weightRows} weight rows for ${labels.count} classes (the micro engine implements one row per class, or one row for two classes)`);
  }
  if (intercepts.length !== 0 && intercepts.length !== weightRows) ctx.fail('invalid_model', `intercepts has ${intercepts.length} values for ${weightRows} weight rows`);
  if (weightRows === 1 && post === 'PROBIT') ctx.fail('unsupported_op', 'PROBIT on a binary LinearClassifier (one weight row) is not implemented; use LOGISTIC or NONE');
  const w = ctx.w;
  w.helper('mlTransform', ML_TRANSFORMS);
  const finish = w.helper('linearClassifierFinish', LINEAR_CLASSIFIER_FINISH);
  const classes = labels.count;
  const label = ctx.node.outputs[0] ? ctx.output(0, 'int64', [rows]) : undefined;
  const z = ctx.output(1, 'float32', [rows, classes]);
  const zf = w.scratch(classes);
  const labelValues = labels.ints ? w.constant(Float64Array.from(labels.ints)) : '';
  const W = w.constant(Float32Array.from(coefficients));
  const b = intercepts.length ? w.constant(Float32Array.from(intercepts)) : '';
  const acc = w.scratch(Math.max(2, weightRows));
  w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${features};`,
    `  for (let t = 0; t < ${weightRows}; t++) {`,
    `    let s = ${b ? `${b}[t]` : '0'};`,
    `    const wr = t * ${features};`,
    `    for (let f = 0; f < ${features}; f++) s += ${x.buf}[row + f] * ${W}[wr + f];`,
    `    ${acc}[t] = s;`,
    `  }`,
    `  const k = ${finish}(${acc}, ${weightRows}, ${classes}, ${TRANSFORM_CODE[post]}, ${zf}, 0);`,
    `  for (let j = 0; j < ${classes}; j++) ${z.buf}[n * ${classes} + j] = ${zf}[j];`,
    ...(label ? [`  ${label.buf}[n] = ${labelValues}[k];`] : []),
    `}`,
  );
};

const scaler: OpEmitter = (ctx) => {
  const { x, rows, features } = featureInput(ctx);
  const offset = numbers(attr(ctx, 'offset')) ?? [];
  const scale = numbers(attr(ctx, 'scale')) ?? [];
  const per = (list: number[], what: string): void => {
    if (list.length > 1 && list.length !== features) ctx.fail('invalid_model', `${what} has ${list.length} values for ${features} features (1 or one per feature)`);
  };
  per(offset, 'offset');
  per(scale, 'scale');
  const w = ctx.w;
  const at = (list: number[], fallback: number): string => {
    if (list.length === 0) return literal(fallback);
    if (list.length === 1) return literal(Math.fround(list[0]!));
    return `${w.constant(Float32Array.from(list))}[f]`;
  };
  const y = ctx.output(0, 'float32', x.dims.length === 1 ? [features] : [rows, features]);
  w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${features};`,
    `  for (let f = 0; f < ${features}; f++) ${y.buf}[row + f] = (${x.buf}[row + f] - ${at(offset, 0)}) * ${at(scale, 1)};`,
    `}`,
  );
};

const normalizer: OpEmitter = (ctx) => {
  const { x, rows, features } = featureInput(ctx);
  const norm = text(ctx, 'norm', 'MAX');
  if (!['MAX', 'L1', 'L2'].includes(norm)) ctx.fail('unsupported_op', `norm "${norm}" is not one of MAX, L1, L2`);
  const y = ctx.output(0, 'float32', x.dims.length === 1 ? [features] : [rows, features]);
  // As onnxruntime: MAX skips NaN, and a zero norm leaves the row as it is.
  const step = norm === 'MAX' ? 'if (s < v) s = v;' : norm === 'L1' ? 's += Math.abs(v);' : 's += v * v;';
  const init = norm === 'MAX' ? '-Infinity' : '0';
  const div = norm === 'L2' ? 'Math.sqrt(s)' : 's';
  ctx.w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${features};`,
    `  let s = ${init};`,
    `  for (let f = 0; f < ${features}; f++) {`,
    `    const v = ${x.buf}[row + f];`,
    `    ${step}`,
    `  }`,
    `  const d = s === 0 ? 1 : ${div};`,
    `  for (let f = 0; f < ${features}; f++) ${y.buf}[row + f] = ${x.buf}[row + f] / d;`,
    `}`,
  );
};

export const ML_EMITTERS: Record<string, OpEmitter> = {
  'ai.onnx.ml.TreeEnsembleRegressor': treeEnsembleRegressor,
  'ai.onnx.ml.TreeEnsembleClassifier': treeEnsembleClassifier,
  'ai.onnx.ml.TreeEnsemble': treeEnsemble5,
  'ai.onnx.ml.LinearRegressor': linearRegressor,
  'ai.onnx.ml.LinearClassifier': linearClassifier,
  'ai.onnx.ml.Scaler': scaler,
  'ai.onnx.ml.Normalizer': normalizer,
};
