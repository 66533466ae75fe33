// The micro engine compiler: ONNX bytes → a plain ES module with the weights inlined in their
// stored types and a straight-line forward pass over preallocated buffers. The module needs
// no eval, no WASM and no imports, so it runs unchanged in V8 isolates, Deno and Node.
import { createHash } from 'node:crypto';
import type { ConstantLayout } from './constant-codec.ts';
import { MicroCompileError, ORT_FALLBACK_HINT, type MicroCompileErrorCode } from './errors.ts';
import { decodeOnnx, nameUnnamedNodes, readOnnxModel, type ConstTensor, type DType, type IrGraph, type IrNode } from './model-ir.ts';
import { ARRAY_OF, jsString, ModuleWriter, resolveBudget, type CompileBudget, type Dim, type Value } from './module-writer.ts';
import { deferRunOnlyConstants } from './lazy-constants.ts';
import { precomputeImportWork } from './precompute.ts';
import { dropUncalledImportKernels, dropUnreadDequantized } from './import-kernels.ts';
import { castMulAsDequantize, foldActivations } from './rewrite.ts';
import { prepareOnnxGraph } from '../onnx/graph-prepass.ts';
import { rewriteMlOutputs } from './rewrite-ml.ts';
import { tryShapeValues } from './shape-values.ts';
import { materialize, opKey, type OpContext } from './ops.ts';
import { OP_EMITTERS, SUPPORTED_OPS } from './registry.ts';

/** Version of the generated module's contract (metadata + run). */
export const MICRO_MODULE_FORMAT = 'edgeinfer-micro/1';

/** A declared input or output of a compiled module (-1 marks a variable dimension). */
export interface MicroTensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

/** What a generated module exports as `metadata`. */
export interface MicroModuleMetadata {
  format: typeof MICRO_MODULE_FORMAT;
  name: string;
  /** Hex SHA-256 of the .onnx the module was compiled from. */
  sourceSha256: string;
  inputs: MicroTensorSpec[];
  outputs: MicroTensorSpec[];
  /** Op type → node count, as compiled. */
  ops: Record<string, number>;
}

export interface CompileOptions {
  /** Model name, recorded in the metadata and the module's header comment. */
  name: string;
  /** Size and work limits checked before allocating or folding (defaults: DEFAULT_BUDGET). */
  budget?: Partial<CompileBudget>;
  /**
   * Input shapes to specialise on, by input name (-1 keeps a dim variable), e.g. the static
   * shapes model.json declares. A graph whose dims are symbolic then compiles with static
   * shapes, so shape-dependent Ifs fold (one exported for any frame length, fed one length).
   * The module refuses other shapes as bad input.
   */
  inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Called at the end of each phase and about once a second while nodes compile (build/micro/progress.ts prints it). */
  onProgress?: (p: CompileProgress) => void;
  /**
   * Run import-time work (weight packing, folded nodes) at build time where its results take no
   * more module bytes than their inputs (build/micro/precompute.ts). Default true.
   */
  precompute?: boolean;
}

export type { CompileBudget };

/** Where a compile is: graph read (and checked), nodes emitted so far, module text assembled. */
export interface CompileProgress {
  phase: 'read' | 'nodes' | 'assemble';
  /** Nodes compiled so far, of `total` (subgraphs included). */
  done: number;
  total: number;
  /** The node being compiled (phase 'nodes'). */
  node?: string;
  /** Since the compile started. */
  elapsedMs: number;
}

export interface CompiledMicroModule {
  /** The ES module source (JavaScript). */
  source: string;
  metadata: MicroModuleMetadata;
  /** Nodes computed once at import because all their inputs are constants. */
  foldedNodes: number;
  /** Of their code blocks, how many ran at build time instead (the module carries the results). */
  precomputedBlocks: number;
  /** Bytes of constant data inlined (before base64). */
  constantBytes: number;
  /** Constants per layout in the module text (plain bytes, byte planes, sparse without zeros). */
  constantLayouts: Record<ConstantLayout, number>;
}

/** Ops handled by the compiler itself rather than an emitter (they hold subgraphs). */
const CONTROL_OPS = new Set(['If']);

/** Checks that every node (subgraphs included) is an op the micro engine implements; throws naming the first that is not. */
export function assertSupported(graph: IrGraph): void {
  const check = (nodes: readonly IrNode[]): void => {
    for (const node of nodes) {
      const standard = node.domain === '' || node.domain === 'ai.onnx';
      const op = opKey(node);
      if (!Object.hasOwn(OP_EMITTERS, op) && !(standard && CONTROL_OPS.has(op))) {
        throw new MicroCompileError(
          'unsupported_op',
          `node "${node.name}" uses op ${op}, which the micro engine does not implement (it compiles ${SUPPORTED_OPS.join(', ')}); ${ORT_FALLBACK_HINT}`,
          node.name,
          node.opType,
        );
      }
      for (const sub of node.subgraphs?.values() ?? []) check(sub.nodes);
    }
  };
  check(graph.nodes);
  if (graph.opset < 7) {
    throw new MicroCompileError('invalid_model', `default-domain opset ${graph.opset} is older than the micro engine supports (7+, 13+ recommended); ${ORT_FALLBACK_HINT}`);
  }
}

const RUNTIME_HELPERS = `// Errors carry a code the engine turns into an error value.
function fail(code, message) {
  const error = new Error(message);
  error.code = code;
  throw error;
}

// Checks one feed against the declared input; returns its data.
function feed(feeds, spec, ctor) {
  const t = feeds[spec.name];
  if (t === undefined || t === null) fail("bad_input", \`missing input "\${spec.name}"\`);
  if (t.dtype !== spec.dtype) fail("bad_input", \`input "\${spec.name}" must be \${spec.dtype}, got \${t.dtype}\`);
  const dims = t.dims;
  if (!dims || dims.length !== spec.shape.length) fail("bad_input", \`input "\${spec.name}" must have rank \${spec.shape.length}\`);
  let size = 1;
  for (let k = 0; k < dims.length; k++) {
    const d = dims[k];
    if (!Number.isInteger(d) || d < 0 || (spec.shape[k] !== -1 && d !== spec.shape[k])) {
      fail("bad_input", \`input "\${spec.name}" has shape [\${dims.join(", ")}], expected [\${spec.shape.join(", ")}] (-1: any)\`);
    }
    size *= d;
  }
  // The toStringTag check, unlike instanceof, accepts typed arrays made in another realm (vm contexts, iframes).
  const data = t.data;
  if (!data || data[Symbol.toStringTag] !== ctor.name || data.length !== size) fail("bad_input", \`input "\${spec.name}" data must be a \${ctor.name} of \${size} elements\`);
  return t.data;
}`;

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function specOf(name: string, dtype: DType, dims: readonly (number | string | null)[]): MicroTensorSpec {
  return { name, dtype, shape: dims.map((d) => (typeof d === 'number' ? d : -1)) };
}

/**
 * Compiles an ONNX model to an ES module exporting `metadata` (MicroModuleMetadata) and
 * `run(feeds) → outputs` (synchronous; tensors as {dtype, dims, data}). Throws a
 * MicroCompileError naming the node, the op and the fix when the graph cannot be compiled;
 * any other failure on a crafted graph is reported as one too, so a build refuses that
 * model alone instead of stopping.
 */
export function compileOnnxToModule(onnxBytes: Uint8Array, options: CompileOptions): CompiledMicroModule {
  try {
    return compileUnchecked(onnxBytes, options);
  } catch (error) {
    if (error instanceof MicroCompileError) throw error;
    throw new MicroCompileError('invalid_model', `the micro compiler could not compile this graph (${(error as Error)?.message ?? String(error)}); ${ORT_FALLBACK_HINT}`);
  }
}

function compileUnchecked(onnxBytes: Uint8Array, options: CompileOptions): CompiledMicroModule {
  const budget = resolveBudget(options.budget);
  const started = Date.now();
  const progress = options.onProgress && ((p: Omit<CompileProgress, 'elapsedMs'>) => options.onProgress!({ ...p, elapsedMs: Date.now() - started }));
  const model = decodeOnnx(onnxBytes);
  if (model.graph) {
    nameUnnamedNodes(model.graph);
    // Shared with the quantizer: Constant-node weights lifted, Conv → BatchNormalization folded.
    prepareOnnxGraph(model);
  }
  const graph = readOnnxModel(model, budget);
  rewriteMlOutputs(graph);
  graph.nodes = castMulAsDequantize(graph);
  graph.nodes = foldActivations(graph);
  assertSupported(graph);
  progress?.({ phase: 'read', done: 0, total: countNodes(graph.nodes) });
  const w = new ModuleWriter(budget);
  const values = new Map<string, Value>();
  // Initializers of the graph and of the subgraphs being compiled, innermost last.
  const initializerScopes: Array<Map<string, ConstTensor>> = [graph.initializers];
  let constantBytes = 0;
  const valueOf = (name: string): Value | undefined => {
    const known = values.get(name);
    if (known) return known;
    for (let s = initializerScopes.length - 1; s >= 0; s--) {
      const init = initializerScopes[s]!.get(name);
      if (!init) continue;
      // Constants enter the module on first use, so unused initializers cost nothing.
      constantBytes += init.data.byteLength;
      const v: Value = { dtype: init.dtype, dims: init.dims, buf: w.constant(init.data), stage: 'const', data: init.data };
      values.set(name, v);
      return v;
    }
    return undefined;
  };

  if (options.inputShapes) specialiseInputs(graph, options.inputShapes);
  // Graph inputs: checked and bound at the top of run().
  const symbols = new Map<string, string>();
  const prologue: string[] = [];
  graph.inputs.forEach((input, i) => {
    const spec = specOf(input.name, input.dtype, input.dims);
    const raw = `f$${i}`;
    const inputCtor = input.dtype === 'int64' ? 'BigInt64Array' : ARRAY_OF[input.dtype];
    prologue.push(`  const ${raw} = feed(feeds, INPUTS[${i}], ${inputCtor});`);
    const dims: Dim[] = input.dims.map((d, k) => {
      if (typeof d === 'number') return d;
      const local = `s${i}_${k}`;
      prologue.push(`  const ${local} = feeds[INPUTS[${i}].name].dims[${k}];`);
      if (typeof d === 'string') {
        const shared = symbols.get(d);
        if (shared) prologue.push(`  if (${local} !== ${shared}) fail("bad_input", "inputs disagree on dimension " + ${w.text(d)} + ": " + ${local} + " vs " + ${shared});`);
        else symbols.set(d, local);
      }
      return local;
    });
    let buf = raw;
    if (input.dtype === 'int64') {
      // int64 computes in doubles inside the module (exact below 2^53).
      buf = w.fresh('t');
      w.buffers.push(`let ${buf} = new Float64Array(0);`);
      prologue.push(`  if (${buf}.length < ${raw}.length) ${buf} = new Float64Array(${raw}.length);`);
      prologue.push(`  for (let i = 0; i < ${raw}.length; i++) ${buf}[i] = Number(${raw}[i]);`);
    }
    values.set(input.name, { dtype: input.dtype, dims, buf, stage: 'run' });
  });

  // How many times each value is read (subgraphs included); a value read once may be fused into its reader.
  const reads = new Map<string, number>();
  // Values that must be materialised: graph outputs and subgraph outputs.
  const pinned = new Set(graph.outputs.map((o) => o.name));
  const countReads = (nodes: readonly IrNode[], live: Set<string>): void => {
    for (const node of nodes) {
      if (!node.outputs.some((o) => live.has(o))) continue;
      for (const name of node.inputs) if (name) reads.set(name, (reads.get(name) ?? 0) + 1);
      // An If reads its condition from a buffer.
      if (node.subgraphs && node.inputs[0]) pinned.add(node.inputs[0]);
      for (const sub of node.subgraphs?.values() ?? []) {
        for (const o of sub.outputs) {
          pinned.add(o);
          reads.set(o, (reads.get(o) ?? 0) + 1);
        }
        countReads(sub.nodes, liveSet(sub.nodes, sub.outputs));
      }
    }
  };
  const topLive = liveSet(graph.nodes, graph.outputs.map((o) => o.name));
  countReads(graph.nodes, topLive);
  // Top-level values computed per run (they depend on a graph input; an If's outputs count as
  // such), and each value's top-level reader: an import-time value may stay lazy only for a
  // reader that runs at import too (dequantizing weights: Cast → Mul by the scales in one loop),
  // never for one in run(), which would recompute it every call.
  const topLevel = new Set(graph.nodes);
  const runValues = new Set(graph.inputs.map((i) => i.name));
  const readerOf = new Map<string, IrNode>();
  for (const node of graph.nodes) {
    if (node.subgraphs || node.inputs.some((n) => n && runValues.has(n))) for (const o of node.outputs) runValues.add(o);
    for (const n of node.inputs) if (n) readerOf.set(n, node);
  }
  // Element-wise readers only (the dequantizing pattern): other readers materialise their inputs
  // anyway, and keeping them out keeps import-time code as precompute.ts expects it.
  const FUSING_AT_IMPORT = new Set(['Mul', 'Add', 'Sub', 'Div', 'Cast']);
  const readAtImport = (name: string): boolean => {
    const reader = readerOf.get(name);
    return !!reader && FUSING_AT_IMPORT.has(reader.opType) && (reader.domain === '' || reader.domain === 'ai.onnx') && reader.inputs.every((n) => !n || !runValues.has(n));
  };

  const ops: Record<string, number> = {};
  let foldedNodes = 0;
  const totalNodes = countNodes(graph.nodes);
  let doneNodes = 0;
  let lastReport = Date.now();

  const compileNodes = (nodes: readonly IrNode[], live: Set<string>): void => {
    for (const node of nodes) {
      if (!node.outputs.some((o) => live.has(o))) continue;
      const fail = (code: MicroCompileErrorCode, problem: string): never => {
        throw new MicroCompileError(code, `node "${node.name}" (op ${node.opType}): ${problem}; ${ORT_FALLBACK_HINT}`, node.name, node.opType);
      };
      const inputs = node.inputs.map((name) => {
        if (!name) return undefined;
        const v = valueOf(name);
        if (!v) fail('invalid_model', `reads "${name}", which no earlier node, input or initializer provides (nodes must be in topological order)`);
        return v;
      });
      if (node.opType === 'If' && (node.domain === '' || node.domain === 'ai.onnx')) {
        compileIf(node, inputs[0] ?? fail('invalid_model', 'If needs a condition'), fail);
      } else {
        // A node whose inputs are all constants runs once, at import (e.g. dequantizing weights).
        const atImport = inputs.every((v) => !v || v.stage !== 'run');
        w.section = atImport ? 'init' : 'run';
        if (atImport) foldedNodes++;
        const stage = atImport ? 'init' : 'run';
        w.budgetWhere = `node "${node.name}" (op ${node.opType})`;
        const ctx: OpContext = {
          w,
          node,
          opset: graph.opset,
          stage,
          input: (i) => {
            const v = inputs[i];
            return v && materialize(ctx, v);
          },
          need: (i) => materialize(ctx, inputs[i] ?? fail('invalid_model', `input ${i} is required`)),
          raw: (i) => inputs[i] ?? fail('invalid_model', `input ${i} is required`),
          has: (i) => inputs[i] !== undefined,
          count: () => inputs.length,
          canDefer: (i) => {
            const name = node.outputs[i];
            return !!name && reads.get(name) === 1 && !pinned.has(name) && (!atImport || (topLevel.has(node) && readAtImport(name)));
          },
          define: (i, value) => {
            const name = node.outputs[i];
            if (name) values.set(name, value);
          },
          output: (i, dtype, dims) => {
            const v: Value = { dtype, dims, buf: w.alloc(dtype, dims), stage };
            const name = node.outputs[i];
            if (name) values.set(name, v);
            return v;
          },
          fail,
        };
        w.startNode();
        // Shape arithmetic is tracked as values (folded where dims are static); other nodes go to their kernel.
        if (!tryShapeValues(ctx)) OP_EMITTERS[opKey(node)]!(ctx);
        w.finishNode(`${node.name}: ${node.opType}`);
      }
      ops[opKey(node)] = (ops[opKey(node)] ?? 0) + 1;
      doneNodes++;
      if (progress && Date.now() - lastReport > 1000) {
        lastReport = Date.now();
        progress({ phase: 'nodes', done: doneNodes, total: totalNodes, node: node.name });
      }
    }
  };

  // Top-level functions holding the branches of run-time Ifs in run(). V8 compiles a function
  // on its first call with every parenthesised arrow inside it (each node's block), so a branch
  // left inline in run() was compiled whether taken or not; a top-level function is only
  // preparsed until called (silero VAD v4's untaken sample-rate branch: ~1,200 lines).
  const branchFunctions: string[] = [];

  // Each node's block in run() and in the branch functions (its own arrow function, see
  // ModuleWriter.finishNode) becomes a top-level function too, the enclosing function's locals it
  // reads passed in. A function holding many inner arrows costs V8 far more to compile on its
  // first call than one calling top-level functions (each then compiled once, when called):
  // measured on a generated module of 2000 small blocks, 30 ms vs 10 ms of first-call compile.
  const usesName = (text: string) => {
    const names = new Set(text.match(/[A-Za-z_$][\w$]*/g));
    return (name: string) => names.has(name);
  };
  // In run(), node blocks that differ only in the buffers and dims they use (a net's repeated
  // blocks: squeeze-excite scales, residual adds, convs of one geometry) share one function;
  // a block of its own keeps its module buffers bound in its body (see sharedNodeBlock).
  const hoistNodeBlocks = (lines: readonly string[], params: readonly string[], share = false): string[] => {
    type Block = { start: number; end: number; body: string[]; free: string[]; shared?: ReturnType<typeof sharedNodeBlock> };
    const blocks: Block[] = [];
    const scope = [...params];
    for (let i = 0; i < lines.length; i++) {
      const end = lines[i] === '  (() => {' ? lines.indexOf('  })();', i + 1) : -1;
      if (end < 0) {
        scope.push(...declaredNames([lines[i]!]));
        continue;
      }
      const body = lines.slice(i + 1, end);
      blocks.push({ start: i, end, body, free: scope.filter(usesName(body.join('\n'))), shared: share ? sharedNodeBlock(body, scope.filter(usesName(body.join('\n')))) : undefined });
      i = end;
    }
    const count = new Map<string, number>();
    for (const b of blocks) if (b.shared) count.set(b.shared.key, (count.get(b.shared.key) ?? 0) + 1);
    const sharedFns = new Map<string, string>();
    const out: string[] = [];
    let next = 0;
    for (const b of blocks) {
      out.push(...lines.slice(next, b.start));
      next = b.end + 1;
      const shared = b.shared && count.get(b.shared.key)! > 1 ? b.shared : undefined;
      let fn = shared && sharedFns.get(shared.key);
      if (!fn) {
        fn = w.fresh('node');
        if (shared) {
          sharedFns.set(shared.key, fn);
          branchFunctions.push(`function ${fn}(${shared.params.join(', ')}) {`, ...shared.body, '}');
        } else {
          branchFunctions.push(`function ${fn}(${b.free.join(', ')}) {`, ...b.body.map((l) => l.slice(2)), '}');
        }
      }
      out.push(`  ${fn}(${(shared ? shared.args : b.free).join(', ')});`);
    }
    out.push(...lines.slice(next));
    return out;
  };

  // If: a condition known at compile time compiles one branch inline; otherwise both
  // branches are compiled (in run(): into branch functions, see above) and copy their outputs
  // into shared buffers.
  const compileIf = (node: IrNode, cond: Value, fail: (code: MicroCompileErrorCode, problem: string) => never): void => {
    const thenBranch = node.subgraphs?.get('then_branch') ?? fail('invalid_model', 'If lacks then_branch');
    const elseBranch = node.subgraphs?.get('else_branch') ?? fail('invalid_model', 'If lacks else_branch');
    if (thenBranch.outputs.length !== node.outputs.length || elseBranch.outputs.length !== node.outputs.length) {
      fail('invalid_model', 'the branches must produce as many outputs as the If');
    }
    if (cond.data) {
      const branch = cond.data[0] ? thenBranch : elseBranch;
      initializerScopes.push(branch.initializers);
      compileNodes(branch.nodes, liveSet(branch.nodes, branch.outputs));
      initializerScopes.pop();
      node.outputs.forEach((name, i) => {
        const v = valueOf(branch.outputs[i]!) ?? fail('invalid_model', `branch output "${branch.outputs[i]}" is produced by no node`);
        if (name) values.set(name, v);
      });
      foldedNodes++;
      return;
    }
    const implicit = (node.implicitInputs ?? []).map((n) => valueOf(n));
    const section = cond.stage === 'run' || implicit.some((v) => v?.stage === 'run') ? 'run' : 'init';
    const stage = section;
    const indent = section === 'run' ? '  ' : '';
    const target = (): string[] => (section === 'run' ? w.run : w.init);
    // In run(), each branch becomes a top-level function (see branchFunctions): locals of the
    // enclosing scope it reads are passed in, dims it sets are module-level lets.
    const hoist = section === 'run';
    const scopeNames = hoist ? declaredNames([...prologue, ...w.run]) : [];
    // Each branch's lines, taken out of the section as they are compiled.
    const branchLines: string[][] = [];
    const branchOuts: Value[][] = [];
    // A branch that cannot work on these shapes (e.g. the 8 kHz path of a model specialised on
    // 16 kHz frames) fails at run time if taken, as it would in onnxruntime.
    const refused: Array<MicroCompileError | undefined> = [];
    for (const [k, branch] of [thenBranch, elseBranch].entries()) {
      const start = target().length;
      initializerScopes.push(branch.initializers);
      try {
        compileNodes(branch.nodes, liveSet(branch.nodes, branch.outputs));
        branchOuts.push(branch.outputs.map((name) => {
          const v = valueOf(name) ?? fail('invalid_model', `branch output "${name}" is produced by no node`);
          if (v.lazy) fail('invalid_model', `branch output "${name}" was left unmaterialised (compiler bug)`);
          return v;
        }));
      } catch (error) {
        if (!(error instanceof MicroCompileError) || (error.code !== 'unsupported_shape' && error.code !== 'invalid_model')) throw error;
        refused[k] = error;
        target().splice(start);
        const why = `node ${node.name}: its ${k === 0 ? 'then' : 'else'} branch cannot run on inputs of these shapes (${error.message.split('; set "engine"')[0]})`;
        target().push(`${indent}  fail("bad_input", ${w.text(why)});`);
        branchOuts.push([]);
      } finally {
        initializerScopes.pop();
        w.section = section;
      }
      branchLines.push(target().splice(start));
    }
    if (refused[0] && refused[1]) throw refused[0];
    if (refused[0]) branchOuts[0] = branchOuts[1]!;
    if (refused[1]) branchOuts[1] = branchOuts[0]!;
    const [thenOuts, elseOuts] = branchOuts as [Value[], Value[]];
    const inputDim = /^s\d+_\d+$/;
    // Output dims that differ between the branches or are computed inside one are hoisted
    // into `let`s the branch that runs assigns.
    const hoisted: string[] = [];
    const outs: Value[] = thenOuts.map((a, i) => {
      const b = elseOuts[i]!;
      if (a.dtype !== b.dtype) fail('invalid_model', `the branches produce output ${i} as ${a.dtype} and ${b.dtype}`);
      if (a.dims.length !== b.dims.length) {
        fail('unsupported_shape', `the branches produce output ${i} of ranks ${a.dims.length} and ${b.dims.length} and the condition is only known at run time; the micro engine needs one rank (declare the inputs' fixed sizes in model.json inputs[].shape, e.g. npm run model:add -- <file> --shape <input>=1,576, so the condition folds)`);
      }
      const dims = a.dims.map((d, j): Dim => {
        // Equal numbers and input dims (declared before any If) need no hoisting.
        if (d === b.dims[j] && (typeof d === 'number' || inputDim.test(d))) return d;
        const h = w.fresh('h');
        hoisted.push(h);
        return h;
      });
      return { dtype: a.dtype, dims, buf: '', stage };
    });
    // Each branch ends by copying its outputs into the If's buffers.
    for (const k of [1, 0]) {
      if (refused[k]) continue;
      w.section = section;
      w.startNode();
      const before = target().length;
      outs.forEach((out, i) => {
        const v = branchOuts[k]![i]!;
        out.dims.forEach((d, j) => {
          if (d !== v.dims[j]) w.emitScoped(`${d} = ${v.dims[j]};`);
        });
        if (!out.buf) out.buf = w.alloc(out.dtype, out.dims);
        else w.grow(out.buf, out.dtype, out.dims);
        w.emit(`${out.buf}.set(${v.buf}.subarray(0, ${w.prod(v.dims)}));`);
      });
      w.finishNode(`${node.name}: If ${k === 0 ? 'then' : 'else'} outputs`);
      branchLines[k]!.push(...target().splice(before));
    }
    if (hoist) {
      // Module-level, so the branch function can set them (run() is not re-entrant anyway).
      if (hoisted.length > 0) w.buffers.push(`let ${hoisted.map((h) => `${h} = 0`).join(', ')};`);
      const calls = branchLines.map((lines, k) => {
        const fn = w.fresh(k === 0 ? 'ifThen' : 'ifElse');
        const text = lines.join('\n');
        const params = scopeNames.filter(usesName(text));
        const body = hoistNodeBlocks(lines, params);
        branchFunctions.push('', `// ${w.commentText(node.name)}: If, ${k === 0 ? 'then' : 'else'} branch`, `function ${fn}(${params.join(', ')}) {`, ...body, '}');
        return `${fn}(${params.join(', ')});`;
      });
      target().push(`${indent}// ${w.commentText(node.name)}: If`, `${indent}if (${cond.buf}[0]) ${calls[0]} else ${calls[1]}`);
    } else {
      target().push(`${indent}// ${w.commentText(node.name)}: If`);
      if (hoisted.length > 0) target().push(`${indent}let ${hoisted.map((h) => `${h} = 0`).join(', ')};`);
      target().push(`${indent}if (${cond.buf}[0]) {`, ...branchLines[0]!, `${indent}} else {`, ...branchLines[1]!, `${indent}}`);
    }
    node.outputs.forEach((name, i) => {
      if (name) values.set(name, outs[i]!);
    });
  };

  compileNodes(graph.nodes, topLive);
  progress?.({ phase: 'nodes', done: doneNodes, total: totalNodes });

  // Outputs are copied out, so callers may keep them while the buffers are reused.
  const results: string[] = [];
  w.section = 'run';
  w.startNode();
  graph.outputs.forEach((output, i) => {
    const v = valueOf(output.name);
    if (v?.lazy) throw new MicroCompileError('invalid_model', `graph output "${output.name}" was left unmaterialised (compiler bug)`);
    if (!v) throw new MicroCompileError('invalid_model', `graph output "${output.name}" is produced by no node`);
    if (v.dtype !== output.dtype) {
      throw new MicroCompileError('invalid_model', `graph output "${output.name}" is declared ${output.dtype} but computed as ${v.dtype}`);
    }
    const size = w.prod(v.dims);
    const data = v.dtype === 'int64' ? `BigInt64Array.from(${v.buf}.subarray(0, ${size}), BigInt)` : `${v.buf}.slice(0, ${size})`;
    results.push(`    [OUTPUTS[${i}].name]: { dtype: ${JSON.stringify(v.dtype)}, dims: [${v.dims.join(', ')}], data: ${data} },`);
  });
  w.finishNode('outputs');

  const metadata: MicroModuleMetadata = {
    format: MICRO_MODULE_FORMAT,
    name: options.name,
    sourceSha256: sha256Hex(onnxBytes),
    inputs: graph.inputs.map((v) => specOf(v.name, v.dtype, v.dims)),
    outputs: graph.outputs.map((v) => specOf(v.name, v.dtype, v.dims)),
    ops,
  };
  const prelude = [`const metadata = ${jsString(metadata)};`, 'const INPUTS = metadata.inputs;', 'const OUTPUTS = metadata.outputs;', RUNTIME_HELPERS].join('\n');
  const runLines = hoistNodeBlocks([...prologue, ...w.run], ['feeds'], true);
  const runText = [...runLines, ...results, ...branchFunctions].join('\n');
  dropUnreadDequantized(w, runText);
  const precomputed = options.precompute === false ? { blocks: 0 } : precomputeImportWork(w, prelude, runText);
  dropUncalledImportKernels(w, [...w.init, runText].join('\n'));
  w.dropUnreadConstants([prelude, ...w.helpers.values(), ...w.buffers, ...w.init, runText].join('\n'));
  const deferred = deferRunOnlyConstants(w, [prelude, ...w.helpers.values(), ...w.init].join('\n'), [...runLines, ...results, ...branchFunctions]);
  const runBody = deferred.run.slice(0, runLines.length);
  const resultLines = deferred.run.slice(runLines.length, runLines.length + results.length);
  const branchText = deferred.run.slice(runLines.length + results.length);
  const source = [
    // The name is the only model-supplied text in a comment: newlines and line separators become spaces.
    `// Generated by the edgeinfer micro compiler from ${w.commentText(JSON.stringify(options.name))} (sha256 ${metadata.sourceSha256}).`,
    '// Do not edit: rebuild with `npm run build:micro`. Plain ES module: no imports, no eval, no WASM.',
    '',
    `export const metadata = ${jsString(metadata)};`,
    'const INPUTS = metadata.inputs;',
    'const OUTPUTS = metadata.outputs;',
    '',
    RUNTIME_HELPERS,
    ...[...w.helpers.values()].map((h) => `\n${h}`),
    '',
    '// Constants, in their stored types.',
    ...w.constants,
    `const NODES = ${jsString(w.nodeNames)};`,
    '',
    `// Buffers, allocated once (variable-size ones grow on demand)${precomputed.blocks > 0 ? '; import-time results computed at build' : ''}.`,
    ...w.buffers,
    '',
    '// Computed once at import: nodes whose inputs are all constants.',
    ...w.init,
    '',
    '/** Runs the forward pass; synchronous, not re-entrant (buffers are shared between calls). */',
    'export function run(feeds) {',
    ...runBody,
    '  return {',
    ...resultLines,
    '  };',
    '}',
    ...branchText,
    '',
  ].join('\n');
  progress?.({ phase: 'assemble', done: doneNodes, total: totalNodes });
  return { source, metadata, foldedNodes, precomputedBlocks: precomputed.blocks, constantBytes, constantLayouts: { ...w.constantLayouts } };
}

/**
 * A node block (its lines inside the arrow, four-space indent) as a function shared by every
 * block of the same code up to names and integers: the module buffers its header binds
 * (`const _t4 = t$4;`), the enclosing locals it reads (`free`) and its integer literals become
 * parameters. Why: V8 optimises a function by the calls it has seen, so the ninth
 * squeeze-excite scale of MobileNetV3 runs code optimised on the first eight instead of its
 * own loop interpreted, then compiled on the stack and thrown away (each block runs once per
 * inference); the module also carries one copy. Undefined (block kept as its own function)
 * where the text is not plainly tokenisable here (template literals, integer object keys).
 */
function sharedNodeBlock(body: readonly string[], free: readonly string[]): { key: string; params: string[]; args: string[]; body: string[] } | undefined {
  const header: Array<[string, string]> = [];
  let k = 0;
  for (; k < body.length; k++) {
    const m = /^ {4}const (_[\w$]+) = ((?:t|c|acc)\$\d+);$/.exec(body[k]!);
    if (!m) break;
    header.push([m[1]!, m[2]!]);
  }
  const rest = body.slice(k).map((l) => l.slice(4)).join('\n');
  if (rest.includes('`')) return undefined;
  const names = [...free, ...header.map(([local]) => local)];
  const args = [...free, ...header.map(([, buf]) => buf)];
  const rename = new Map(names.map((n, i) => [n, `p${i}`]));
  // Code outside string literals: names renamed, integers (2 and up) made parameters.
  const parts = rest.split(/("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')/);
  for (let i = 0; i < parts.length; i += 2) {
    if (/[{,]\s*\d+\s*:/.test(parts[i]!)) return undefined;
    parts[i] = parts[i]!.replace(/(?<![\w$.])([A-Za-z_$][\w$]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?![\w$])/g, (token) => {
      const renamed = rename.get(token);
      if (renamed) return renamed;
      if (!/^\d+$/.test(token) || Number(token) < 2) return token;
      args.push(token);
      return `p${args.length - 1}`;
    });
  }
  const text = parts.join('');
  const params = args.map((_, i) => `p${i}`);
  return { key: `${params.length}\n${text}`, params, args, body: text.split('\n').map((l) => `  ${l}`) };
}

/** Names a `const`/`let` declares directly in run()'s scope (two-space indent) in `lines`. */
function declaredNames(lines: readonly string[]): string[] {
  const names: string[] = [];
  for (const line of lines) {
    const m = /^  (?:const|let) ([A-Za-z_$][\w$]*)/.exec(line);
    if (m) names.push(m[1]!);
  }
  return names;
}

/** Names of values that lead to `outputs` through `nodes` (subgraph reads included). */
function liveSet(nodes: readonly IrNode[], outputs: readonly string[]): Set<string> {
  const live = new Set(outputs);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (node.outputs.some((o) => live.has(o))) for (const name of [...node.inputs, ...(node.implicitInputs ?? [])]) if (name) live.add(name);
  }
  return live;
}

function countNodes(nodes: readonly IrNode[]): number {
  let n = 0;
  for (const node of nodes) {
    n++;
    for (const sub of node.subgraphs?.values() ?? []) n += countNodes(sub.nodes);
  }
  return n;
}

/** Replaces the graph's input dims by the given shapes (-1 keeps the graph's dim); a shape that contradicts the graph is invalid_model. */
function specialiseInputs(graph: IrGraph, shapes: Readonly<Record<string, readonly number[]>>): void {
  for (const input of graph.inputs) {
    if (!Object.hasOwn(shapes, input.name)) continue;
    const shape = shapes[input.name]!;
    const problem = `input "${input.name}" is declared with shape [${shape.join(', ')}] but the graph has [${input.dims.map((d) => d ?? '?').join(', ')}]`;
    if (shape.length !== input.dims.length) throw new MicroCompileError('invalid_model', `${problem}: ranks differ`, undefined, undefined, input.name);
    input.dims = input.dims.map((d, k) => {
      const want = shape[k]!;
      if (want === -1) return d;
      if (!Number.isSafeInteger(want) || want < 0 || (typeof d === 'number' && d !== want)) throw new MicroCompileError('invalid_model', problem, undefined, undefined, input.name);
      return want;
    });
  }
}
