// The micro engine compiler: ONNX bytes → a plain ES module with the weights inlined in their
// stored types and a straight-line forward pass over preallocated buffers. The module needs
// no eval, no WASM and no imports, so it runs unchanged in V8 isolates, Deno and Node.
import { createHash } from 'node:crypto';
import { MicroCompileError, ORT_FALLBACK_HINT, type MicroCompileErrorCode } from './errors.ts';
import { readOnnxGraph, type DType, type IrGraph } from './model-ir.ts';
import { ARRAY_OF, ModuleWriter, quoted, type Dim, type Value } from './module-writer.ts';
import { OP_EMITTERS, SUPPORTED_OPS, materialize, type OpContext } from './ops.ts';

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
}

export interface CompiledMicroModule {
  /** The ES module source (JavaScript). */
  source: string;
  metadata: MicroModuleMetadata;
  /** Nodes computed once at import because all their inputs are constants. */
  foldedNodes: number;
  /** Bytes of constant data inlined (before base64). */
  constantBytes: number;
}

/** Checks that every node is an op the micro engine implements; throws naming the first that is not. */
export function assertSupported(graph: IrGraph): void {
  for (const node of graph.nodes) {
    const standard = node.domain === '' || node.domain === 'ai.onnx';
    if (!standard || !Object.hasOwn(OP_EMITTERS, node.opType)) {
      const op = standard ? node.opType : `${node.domain}.${node.opType}`;
      throw new MicroCompileError(
        'unsupported_op',
        `node "${node.name}" uses op ${op}, which the micro engine does not implement (it compiles ${SUPPORTED_OPS.join(', ')}); ${ORT_FALLBACK_HINT}`,
        node.name,
        node.opType,
      );
    }
  }
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
 * MicroCompileError naming the node, the op and the fix when the graph cannot be compiled.
 */
export function compileOnnxToModule(onnxBytes: Uint8Array, options: CompileOptions): CompiledMicroModule {
  const graph = readOnnxGraph(onnxBytes);
  assertSupported(graph);
  const w = new ModuleWriter();
  const values = new Map<string, Value>();
  let constantBytes = 0;
  const valueOf = (name: string): Value | undefined => {
    const known = values.get(name);
    if (known) return known;
    const init = graph.initializers.get(name);
    if (!init) return undefined;
    // Constants enter the module on first use, so unused initializers cost nothing.
    constantBytes += init.data.byteLength;
    const v: Value = { dtype: init.dtype, dims: init.dims, buf: w.constant(init.data), stage: 'const', data: init.data };
    values.set(name, v);
    return v;
  };

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
        if (shared) prologue.push(`  if (${local} !== ${shared}) fail("bad_input", "inputs disagree on dimension ${quoted(d)}: " + ${local} + " vs " + ${shared});`);
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

  // Only nodes that lead to an output are compiled.
  const live = new Set(graph.outputs.map((o) => o.name));
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (node.outputs.some((o) => live.has(o))) for (const name of node.inputs) if (name) live.add(name);
  }

  // How many times each value is read; a value read once may be fused into its reader.
  const reads = new Map<string, number>();
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  for (const node of graph.nodes) {
    if (!node.outputs.some((o) => live.has(o))) continue;
    for (const name of node.inputs) if (name) reads.set(name, (reads.get(name) ?? 0) + 1);
  }

  const ops: Record<string, number> = {};
  let foldedNodes = 0;
  for (const node of graph.nodes) {
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
    // A node whose inputs are all constants runs once, at import (e.g. dequantizing weights).
    const atImport = inputs.every((v) => !v || v.stage !== 'run');
    w.section = atImport ? 'init' : 'run';
    if (atImport) foldedNodes++;
    const stage = atImport ? 'init' : 'run';
    const ctx: OpContext = {
      w,
      node,
      opset: graph.opset,
      input: (i) => {
        const v = inputs[i];
        return v && materialize(ctx, v);
      },
      need: (i) => materialize(ctx, inputs[i] ?? fail('invalid_model', `input ${i} is required`)),
      raw: (i) => inputs[i] ?? fail('invalid_model', `input ${i} is required`),
      canDefer: (i) => {
        const name = node.outputs[i];
        return !atImport && !!name && reads.get(name) === 1 && !graphOutputs.has(name);
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
    OP_EMITTERS[node.opType]!(ctx);
    w.finishNode(`${node.name}: ${node.opType}`);
    ops[node.opType] = (ops[node.opType] ?? 0) + 1;
  }

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
  const source = [
    `// Generated by the edgeinfer micro compiler from "${options.name}" (sha256 ${metadata.sourceSha256}).`,
    '// Do not edit: rebuild with `npm run build:micro`. Plain ES module: no imports, no eval, no WASM.',
    '',
    `export const metadata = ${JSON.stringify(metadata)};`,
    'const INPUTS = metadata.inputs;',
    'const OUTPUTS = metadata.outputs;',
    '',
    RUNTIME_HELPERS,
    ...[...w.helpers.values()].map((h) => `\n${h}`),
    '',
    '// Constants, in their stored types.',
    ...w.constants,
    `const NODES = ${JSON.stringify(w.nodeNames)};`,
    '',
    '// Buffers, allocated once (variable-size ones grow on demand).',
    ...w.buffers,
    '',
    '// Computed once at import: nodes whose inputs are all constants.',
    ...w.init,
    '',
    '/** Runs the forward pass; synchronous, not re-entrant (buffers are shared between calls). */',
    'export function run(feeds) {',
    ...prologue,
    ...w.run,
    '  return {',
    ...results,
    '  };',
    '}',
    '',
  ].join('\n');
  return { source, metadata, foldedNodes, constantBytes };
}
