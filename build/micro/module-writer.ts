// The code generator's state: sections of the generated module (constants, buffers,
// import-time code, the forward pass), symbolic dims and the loop nests every op uses.
import { BASE64_BYTES, encodeConstant, HUFFMAN, HUFFMAN_WARM, UNPACK, UNPACK_WARM, WARM_UNPACK_FROM, type ConstantLayout } from './constant-codec.ts';
import { MicroCompileError, ORT_FALLBACK_HINT } from './errors.ts';
import type { ConstData, DType } from './model-ir.ts';

/** A dimension: a number when static, else the name of a JS constant holding it at run time. */
export type Dim = number | string;

/**
 * A tensor during code generation. `buf` names the JS variable of its typed array (which may
 * be longer than the tensor when the size varies); `data` is set when values are known now.
 */
export interface Value {
  dtype: DType;
  dims: Dim[];
  buf: string;
  /** const: an initializer; init: computed once at import; run: computed per call. */
  stage: 'const' | 'init' | 'run';
  data?: ConstData;
  /** Set while the tensor is not materialised: its consumer computes it inline (fusion). */
  lazy?: Lazy;
  /**
   * Element values of a small integer tensor computed from dimensions (shape arithmetic), as
   * Dims: numbers or names of run-time constants (build/micro/shape-values.ts). The buffer
   * holds the same values at run time.
   */
  known?: Dim[];
}

/**
 * A tensor computed where it is consumed. `map`: element-wise over operands that broadcast
 * to its dims. `gather`: rows of `table` (axis 0) picked by `indices`, each row `rowDims`.
 */
export type Lazy =
  | { kind: 'map'; operands: Value[]; expr: (args: string[]) => string }
  | { kind: 'gather'; table: Value; indices: Value; rowDims: Dim[]; node: string };

/** Typed array constructor name per dtype (int64 computes in doubles). */
export const ARRAY_OF: Record<DType, string> = {
  float32: 'Float32Array',
  int32: 'Int32Array',
  int64: 'Float64Array',
  int8: 'Int8Array',
  uint8: 'Uint8Array',
  bool: 'Uint8Array',
};

/** Bytes per element of each dtype's typed array. */
export const BYTES_OF_DTYPE: Record<DType, number> = { float32: 4, int32: 4, int64: 8, int8: 1, uint8: 1, bool: 1 };

/**
 * Limits checked before anything is allocated or computed, so a crafted graph is refused
 * (per model) instead of exhausting memory or CPU at build time or at import.
 */
export interface CompileBudget {
  /** Elements of any one tensor (constant, buffer, or folded result). */
  maxTensorElements: number;
  /** Bytes of all buffers the module allocates (static sizes; growable ones are checked at run time by their inputs). */
  maxBufferBytes: number;
  /** Multiply-adds of work done once at import (folded MatMul/Gemm/Conv over constants). */
  maxImportMacs: number;
  /** Bytes of constant data in the .onnx. */
  maxConstantBytes: number;
}

export const DEFAULT_BUDGET: CompileBudget = {
  maxTensorElements: 16 * 1024 * 1024,
  maxBufferBytes: 256 * 1024 * 1024,
  maxImportMacs: 2e8,
  maxConstantBytes: 256 * 1024 * 1024,
};

export function resolveBudget(partial: Partial<CompileBudget> | undefined): CompileBudget {
  return { ...DEFAULT_BUDGET, ...(partial ?? {}) };
}

/** The one way model-supplied text enters generated code: a JS literal (JSON plus the two line separators). */
export function jsString(value: unknown): string {
  return JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
/** Names of buffers and constants (see `alloc`, `scratch`, `constant`) and input data (f<n>). */
const BUFFER_NAME = /(?<![\w$])(?:t|c|acc|f)\$\d+(?![\w$])/g;

/** Collects the generated module section by section. */
/** A constant decoded from base64 at import: its expression is `${head}"${text}"${tail}`, text the base64. */
export interface DecodedConstant {
  head: string;
  text: string;
  tail: string;
}

export class ModuleWriter {
  readonly constants: string[] = [];
  readonly buffers: string[] = [];
  readonly init: string[] = [];
  readonly run: string[] = [];
  readonly helpers = new Map<string, string>();
  /** Node names quoted in run-time errors, emitted once as the module's NODES table. */
  readonly nodeNames: string[] = [];
  #counter = 0;
  #bufferBytes = 0;
  readonly budget: CompileBudget;
  /** Which node is being compiled, for budget refusals. */
  budgetWhere = 'the graph';

  constructor(budget: CompileBudget = DEFAULT_BUDGET) {
    this.budget = budget;
  }

  /** Refuses a tensor of `elements` elements (or a negative/non-integer size) before it is allocated. */
  checkElements(elements: number, what: string): void {
    if (!Number.isSafeInteger(elements) || elements < 0) {
      throw new MicroCompileError('invalid_model', `${this.budgetWhere}: ${what} has an invalid size (${elements}); ${ORT_FALLBACK_HINT}`);
    }
    if (elements > this.budget.maxTensorElements) {
      throw new MicroCompileError(
        'unsupported_shape',
        `${this.budgetWhere}: ${what} would hold ${elements} elements, over the micro budget of ${this.budget.maxTensorElements}; ${ORT_FALLBACK_HINT}`,
      );
    }
  }

  /** Counts work done at import (folded nodes) against the budget. */
  #importMacs = 0;
  chargeImport(macs: Dim): void {
    if (this.section !== 'init') return;
    if (typeof macs !== 'number') return;
    this.#importMacs += macs;
    if (this.#importMacs > this.budget.maxImportMacs) {
      throw new MicroCompileError(
        'unsupported_shape',
        `${this.budgetWhere}: computing constants at import would take ${this.#importMacs.toExponential(2)} multiply-adds, over the micro budget of ${this.budget.maxImportMacs.toExponential(2)}; ${ORT_FALLBACK_HINT}`,
      );
    }
  }

  /** A JS string literal of model-supplied text, for generated code. */
  text(value: string): string {
    return jsString(value);
  }

  /** Model-supplied text inside a // comment: line terminators become spaces. */
  commentText(value: string): string {
    return value.replace(/[\r\n\u2028\u2029]/g, ' ');
  }

  /** Grows a variable-size buffer to hold `dims` (nothing for static sizes). */
  grow(buf: string, dtype: DType, dims: readonly Dim[]): void {
    const size = this.prod(dims);
    if (typeof size !== 'number') this.#pre.push(`if (${buf}.length < ${size}) ${buf} = new ${ARRAY_OF[dtype]}(${size});`);
  }
  /** Where node code currently goes: module top level (import time) or the run function. */
  section: 'init' | 'run' = 'run';
  /** Lines of the node being emitted: `pre` sits in function scope, `body` in a block. */
  #pre: string[] = [];
  #body: string[] = [];

  /** A new identifier; the `$` keeps generated names apart from anything a model names. */
  fresh(prefix: string): string {
    return `${prefix}$${this.#counter++}`;
  }

  /** Starts a node; `finishNode` wraps its body in a block so loop locals never clash. */
  startNode(): void {
    this.#pre = [];
    this.#body = [];
  }

  finishNode(comment: string): void {
    const target = this.section === 'init' ? this.init : this.run;
    const indent = this.section === 'init' ? '' : '  ';
    target.push(`${indent}// ${this.commentText(comment)}`);
    for (const line of this.#pre) target.push(indent + line);
    if (this.#body.length > 0) {
      // Hot loops read block-local consts: module-level bindings cost a context load and a
      // TDZ check per access, which V8 does not always hoist out of loops.
      const names = new Set<string>();
      for (const line of this.#body) for (const m of line.matchAll(BUFFER_NAME)) names.add(m[0]);
      const local = (name: string) => `_${name.replace('$', '')}`;
      // In run(), each node's block is its own function: V8 does not optimise one huge function
      // (a MobileNet's forward pass in one body ran ~15x slower than split per node).
      const wrap = this.section === 'run';
      target.push(wrap ? `${indent}(() => {` : `${indent}{`);
      for (const name of names) target.push(`${indent}  const ${local(name)} = ${name};`);
      for (const line of this.#body) target.push(`${indent}  ${line.replace(BUFFER_NAME, (name) => local(name))}`);
      target.push(wrap ? `${indent}})();` : `${indent}}`);
    }
  }

  /** A line in the node's block. */
  emit(...lines: string[]): void {
    this.#body.push(...lines);
  }

  /** A line in function scope (visible to later nodes). */
  emitScoped(...lines: string[]): void {
    this.#pre.push(...lines);
  }

  /** A JS expression for a node's name in error messages (names never enter code text). */
  nodeRef(name: string): string {
    let k = this.nodeNames.indexOf(name);
    if (k < 0) k = this.nodeNames.push(name) - 1;
    return `NODES[${k}]`;
  }

  /** Adds a runtime helper function once. */
  helper(name: string, source: string): string {
    this.helpers.set(name, source);
    return name;
  }

  /** A Dim for an expression: numbers stay numbers, other expressions get a named constant. */
  dim(expr: Dim): Dim {
    if (typeof expr === 'number' || IDENT.test(expr)) return expr;
    const name = this.fresh('d');
    this.#pre.push(`const ${name} = ${expr};`);
    return name;
  }

  /** Product of dims, folded where static. */
  prod(dims: readonly Dim[]): Dim {
    let n = 1;
    const symbols: string[] = [];
    for (const d of dims) {
      if (typeof d === 'number') n *= d;
      else symbols.push(d);
    }
    if (symbols.length === 0 || n === 0) return n;
    const terms = n === 1 ? symbols : [...symbols, String(n)];
    return this.dim(terms.join(' * '));
  }

  /** Allocates the buffer of a new tensor; static sizes once at import, variable sizes grow on demand. */
  alloc(dtype: DType, dims: readonly Dim[]): string {
    const name = this.fresh('t');
    const size = this.prod(dims);
    const ctor = ARRAY_OF[dtype];
    if (typeof size === 'number') {
      this.checkElements(size, 'a buffer');
      this.#bufferBytes += size * BYTES_OF_DTYPE[dtype];
      if (this.#bufferBytes > this.budget.maxBufferBytes) {
        throw new MicroCompileError('unsupported_shape', `${this.budgetWhere}: the module's buffers would take ${this.#bufferBytes} bytes, over the micro budget of ${this.budget.maxBufferBytes}; ${ORT_FALLBACK_HINT}`);
      }
      this.buffers.push(`const ${name} = new ${ctor}(${size});`);
    } else {
      this.buffers.push(`let ${name} = new ${ctor}(0);`);
      this.#pre.push(`if (${name}.length < ${size}) ${name} = new ${ctor}(${size});`);
    }
    return name;
  }

  /** A scratch buffer of doubles for accumulators (never aliased, so shared sizes are fine). */
  scratch(size: Dim): string {
    const name = this.fresh('acc');
    if (typeof size === 'number') {
      this.checkElements(size, 'a scratch buffer');
      this.buffers.push(`const ${name} = new Float64Array(${size});`);
    } else {
      this.buffers.push(`let ${name} = new Float64Array(0);`);
      this.#pre.push(`if (${name}.length < ${size}) ${name} = new Float64Array(${size});`);
    }
    return name;
  }

  /** Bytes of dense 4- and 8-byte planes so far (their decoding is warmed up from a size on). */
  #wordPlaneBytes = 0;
  /** Bytes of Huffman-coded constants so far (likewise). */
  #huffmanBytes = 0;
  /** How many constants went out in each layout (see constant-codec.ts). */
  readonly constantLayouts: Record<ConstantLayout, number> = { plain: 0, planes: 0, sparse: 0, huffman: 0 };
  /** The layout each encoded constant (or precomputed buffer) went out in, by name. */
  readonly layoutOf = new Map<string, ConstantLayout>();

  /** Adds a constant tensor to the module: short ones as literals, others as base64 in the layout that gzips smallest. */
  constant(data: ConstData): string {
    const name = this.fresh('c');
    this.constants.push(`const ${name} = ${this.constantExpression(name, data)};`);
    return name;
  }

  /** The JS expression that rebuilds `data` at import (counted in constantLayouts under `name`). */
  constantExpression(name: string, data: ConstData): string {
    const ctor = data.constructor.name;
    if (data.length <= 16) return `new ${ctor}([${Array.from(data as ArrayLike<number>, (v) => literal(v)).join(', ')}])`;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const width = (data as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const encoded = encodeConstant(bytes, width);
    this.constantLayouts[encoded.layout]++;
    this.layoutOf.set(name, encoded.layout);
    this.helper('base64Bytes', BASE64_BYTES);
    if (encoded.layout === 'plain') {
      this.helper('bytesOf', BYTES_OF);
      return this.decodedExpression(name, `new ${ctor}(bytesOf(`, base64(encoded.bytes), '))');
    }
    if (encoded.layout === 'huffman') {
      this.helper('huffman', HUFFMAN);
      this.#huffmanBytes += data.length;
      if (this.#huffmanBytes >= WARM_UNPACK_FROM) this.helper('huffmanWarm', HUFFMAN_WARM);
      return this.decodedExpression(name, `new ${ctor}(huffman(`, base64(encoded.bytes), `, ${data.length}))`);
    }
    this.helper('unpack', UNPACK);
    if (encoded.layout === 'planes' && (width === 4 || width === 8)) {
      this.#wordPlaneBytes += bytes.length;
      if (this.#wordPlaneBytes >= WARM_UNPACK_FROM) this.helper('unpackWarm', UNPACK_WARM);
    }
    return this.decodedExpression(name, `new ${ctor}(unpack(`, base64(encoded.bytes), `, ${data.length}, ${width}, ${encoded.layout === 'sparse'}))`);
  }

  /**
   * The constants (and precomputed buffers) decoded from base64 at import, by name, as written:
   * `const name = ${head}"${text}"${tail};`. lazy-constants.ts defers the long ones from this
   * record instead of parsing the module's lines.
   */
  readonly decoded = new Map<string, DecodedConstant>();

  private decodedExpression(name: string, head: string, text: string, tail: string): string {
    this.decoded.set(name, { head, text, tail });
    return `${head}"${text}"${tail}`;
  }

  /**
   * Drops constants that nothing in `readers` (the rest of the module's text) names: an emitter
   * may materialise weights it then computes without (a Conv recognised as an FFT), and they would
   * cost module bytes and import time for nothing. Returns how many were dropped.
   */
  dropUnreadConstants(readers: string): number {
    const read = new Set(readers.match(/(?<![\w$])c\$\d+(?![\w$])/g) ?? []);
    const kept = this.constants.filter((line) => {
      const name = /^const (c\$\d+) = /.exec(line)?.[1];
      if (name === undefined || read.has(name)) return true;
      this.uncountConstant(name);
      return false;
    });
    const dropped = this.constants.length - kept.length;
    this.constants.splice(0, this.constants.length, ...kept);
    return dropped;
  }

  /** Forgets a constant's layout count and decode record (its line was dropped). */
  uncountConstant(name: string): void {
    const layout = this.layoutOf.get(name);
    this.decoded.delete(name);
    if (layout === undefined) return;
    this.constantLayouts[layout]--;
    this.layoutOf.delete(name);
  }

  /**
   * Emits loops over `iter` (row-major) with one index per operand, where each operand's
   * dims broadcast to `iter` (numpy rules, aligned right). Adjacent axes that broadcast
   * alike are merged, so same-shape operands get one flat loop. `body` receives the
   * operands' element indices and the linear index over `iter`.
   */
  loops(iter: readonly Dim[], operands: ReadonlyArray<readonly Dim[]>, body: (index: string[], linear: string) => string[]): void {
    this.emit(...this.loopLines(iter, operands, body));
  }

  /** The lines of `loops` (dims it needs are still declared in function scope). */
  loopLines(iter: readonly Dim[], operands: ReadonlyArray<readonly Dim[]>, body: (index: string[], linear: string) => string[]): string[] {
    const r = iter.length;
    const aligned = operands.map((dims) => [...Array<Dim>(r - dims.length).fill(1), ...dims]);
    const strides = aligned.map((dims) => dims.map((_, k) => this.prod(dims.slice(k + 1))));
    type Status = 's' | 'b' | 'r';
    const statusOf = (j: number, k: number): Status => {
      const d = aligned[j]![k]!;
      if (d === 1) return 'b';
      if (d === iter[k]) return 's';
      return 'r';
    };
    interface Group { size: Dim[]; status: Status[]; stride: Dim[]; axis: number }
    const groups: Group[] = [];
    for (let k = 0; k < r; k++) {
      if (iter[k] === 1) continue;
      const status = operands.map((_, j) => statusOf(j, k));
      const stride = operands.map((_, j) => strides[j]![k]!);
      const last = groups[groups.length - 1];
      if (last && !status.includes('r') && !last.status.includes('r') && status.every((s, j) => s === last.status[j])) {
        last.size.push(iter[k]!);
        last.stride = stride;
      } else {
        groups.push({ size: [iter[k]!], status, stride, axis: k });
      }
    }
    const effective = groups.map((g) =>
      g.status.map((s, j): Dim => {
        if (s === 'b') return 0;
        if (s === 's') return g.stride[j]!;
        const d = aligned[j]![g.axis]!; // 'r' groups are never merged: one axis
        return this.dim(`(${d} === 1 ? 0 : ${g.stride[j]})`);
      }),
    );
    const sizes = groups.map((g) => this.prod(g.size));
    if (groups.length === 0) return body(operands.map(() => '0'), '0');
    if (groups.length === 1) {
      const idx = effective[0]!.map((s) => (s === 0 ? '0' : s === 1 ? 'i' : `i * ${s}`));
      return [`for (let i = 0; i < ${sizes[0]}; i++) {`, ...body(idx, 'i').map((l) => `  ${l}`), '}'];
    }
    const lines: string[] = ['let q = 0;'];
    let indent = '';
    const prev: string[] = operands.map(() => '0');
    groups.forEach((_, g) => {
      lines.push(`${indent}for (let i${g} = 0; i${g} < ${sizes[g]}; i${g}++) {`);
      indent += '  ';
      operands.forEach((__, j) => {
        const s = effective[g]![j]!;
        const term = s === 0 ? '' : s === 1 ? `i${g}` : `i${g} * ${s}`;
        const base = prev[j] === '0' ? '' : prev[j]!;
        const expr = base && term ? `${base} + ${term}` : base || term || '0';
        if (expr === prev[j]) return;
        const name = `x${j}_${g}`;
        lines.push(`${indent}const ${name} = ${expr};`);
        prev[j] = name;
      });
    });
    for (const l of body(prev, 'q')) lines.push(indent + l);
    lines.push(`${indent}q++;`);
    for (let g = groups.length - 1; g >= 0; g--) {
      indent = indent.slice(2);
      lines.push(`${indent}}`);
    }
    return lines;
  }
}

/** A JS literal for a number that round-trips exactly (float32 values are exact doubles). */
export function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

function base64(bytes: Uint8Array): string {
  // Node's btoa is pure JS and takes seconds on megabytes; Buffer encodes natively.
  const NodeBuffer = (globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: 'base64'): string } } }).Buffer;
  if (NodeBuffer) return NodeBuffer.from(bytes).toString('base64');
  let out = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) out += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(out);
}

const BYTES_OF = `// A plain constant's bytes, decoded once at import (base64Bytes: native where the runtime has it).
function bytesOf(text) {
  const bytes = base64Bytes(text);
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}`;

/** Text safe inside a double-quoted JS string literal (model-supplied names): jsString without its quotes. */
export function quoted(text: string): string {
  return jsString(text).slice(1, -1);
}
