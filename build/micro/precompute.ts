// Import-time work done at build time instead. Nodes whose inputs are all constants run once at
// import (build/micro/compile.ts): packing weights into the layout a kernel streams, transposes,
// folded arithmetic. In a fresh process that code runs interpreted (alexa's weight packing:
// ~6 ms of a ~25 ms cold start in Node 20). Here the compiler runs the same import-time code once
// (node:vm, at build), and where a group of blocks' results travel in no more bytes than the
// constants they read, the module carries the results and drops the blocks and those constants.
// Where they would grow the module (int8 weights dequantized to fp32: 4x), the work stays at import.
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import type { ModuleWriter } from './module-writer.ts';
import type { ConstData } from './model-ir.ts';

/** Results may gzip this much larger than the constants they replace (packing reorders bytes, so gzip sees other runs). */
const GROWTH = 1.02;
const SLACK_BYTES = 256;
/** The build-time run of import-time code; a module that needs longer keeps its work at import. */
const TIMEOUT_MS = 60_000;

const NAME = /(?<![\w$])(?:t|c)\$\d+(?![\w$])/g;
const STATIC_BUFFER = /^const ((?:t)\$\d+) = new (\w+)\((\d+)\);$/;
const CONSTANT_LINE = /^const (c\$\d+) = /;

export interface PrecomputeResult {
  /** Import-time blocks now computed at build time. */
  blocks: number;
  /** Why nothing was precomputed, when it could not run. */
  skipped?: string;
}

const namesIn = (text: string): Set<string> => new Set(text.match(NAME) ?? []);
const gz = (text: string): number => gzipSync(text, { level: 1 }).length;

/**
 * Runs the module's import-time code at build time and, group by group (blocks that share a
 * buffer decide together), replaces blocks by their results where that does not grow the module.
 * `prelude`: the module text before the constants (metadata, runtime helpers); `runText`: every
 * line run() consists of (prologue, body, results), which decides which buffers stay live.
 */
export function precomputeImportWork(w: ModuleWriter, prelude: string, runText: string): PrecomputeResult {
  // Import-time code is top-level lines (If conditions, dims, checks) and blocks: a '{' line, lines
  // indented under it, a '}' line (ModuleWriter.finishNode and kernels' importBuffer write them so).
  const init: string[] = [];
  const isBlock = new Set<number>();
  for (let i = 0; i < w.init.length; i++) {
    if (w.init[i] !== '{') {
      init.push(w.init[i]!);
      continue;
    }
    let end = i + 1;
    while (end < w.init.length && w.init[end] !== '}') end++;
    if (end === w.init.length) return { blocks: 0, skipped: 'an import-time block without its end' };
    isBlock.add(init.length);
    init.push(w.init.slice(i, end + 1).join('\n'));
    i = end;
  }
  const blockAt = [...isBlock];
  const blocks = blockAt.map((k) => init[k]!);
  if (blocks.length === 0) return { blocks: 0 };
  const blockNames = blocks.map(namesIn);
  // Buffers the import-time blocks touch: only import-time values (run-time ones never reach this code).
  const initBuffers = new Set(blockNames.flatMap((names) => [...names].filter((n) => n.startsWith('t$'))));

  // Final values of those buffers after the import-time code, computed in a fresh realm.
  const staticBuffers = new Map<string, { ctor: string; line: string }>();
  for (const line of w.buffers) {
    const m = STATIC_BUFFER.exec(line);
    if (m && initBuffers.has(m[1]!)) staticBuffers.set(m[1]!, { ctor: m[2]!, line });
  }
  const script = [
    '(function () {',
    prelude,
    ...w.helpers.values(),
    ...w.constants,
    `const NODES = ${JSON.stringify(w.nodeNames)};`,
    ...w.buffers,
    ...w.init,
    `return { ${[...staticBuffers.keys()].join(', ')} };`,
    '})()',
  ].join('\n');
  let computed: Record<string, ArrayLike<number> & { buffer: ArrayBuffer; byteOffset: number; byteLength: number }>;
  try {
    computed = runInNewContext(script, { atob }, { timeout: TIMEOUT_MS });
  } catch (error) {
    // The same code would fail at import (e.g. a branch refused for these shapes): leave it there.
    return { blocks: 0, skipped: (error as Error)?.message ?? String(error) };
  }

  // Groups: blocks joined by the import-time buffers they share (a producer and its consumers).
  const parent = blocks.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const ownerOf = new Map<string, number>();
  blockNames.forEach((names, i) => {
    for (const name of names) {
      if (!initBuffers.has(name)) continue;
      const other = ownerOf.get(name);
      if (other === undefined) ownerOf.set(name, i);
      else parent[find(i)] = find(other);
    }
  });
  const groups = new Map<number, number[]>();
  blocks.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));

  // Names read outside the blocks: run(), import-time lines that are not blocks (If conditions,
  // dims) and, to be safe, the helpers (generic code that names no buffer today).
  const outside = namesIn([runText, ...init.filter((_, k) => !isBlock.has(k)), ...w.helpers.values()].join('\n'));
  const constantLines = new Map<string, string>();
  for (const line of w.constants) {
    const m = CONSTANT_LINE.exec(line);
    if (m) constantLines.set(m[1]!, line);
  }
  const readers = new Map<string, number>();
  for (const names of blockNames) for (const name of names) if (constantLines.has(name)) readers.set(name, (readers.get(name) ?? 0) + 1);

  const dropBlocks = new Set<number>();
  const dropConstants = new Set<string>();
  const bufferLines = new Map<string, string | null>();
  for (const members of groups.values()) {
    const names = new Set(members.flatMap((i) => [...blockNames[i]!]));
    const buffers = [...names].filter((n) => initBuffers.has(n));
    // A buffer the build could not read back (grown at run time) keeps the group at import.
    if (buffers.some((n) => !staticBuffers.has(n) || !computed[n])) continue;
    const ownReads = members.reduce((m, i) => {
      for (const n of blockNames[i]!) if (constantLines.has(n)) m.set(n, (m.get(n) ?? 0) + 1);
      return m;
    }, new Map<string, number>());
    // Constants only this group reads go with it.
    const freed = [...ownReads].filter(([n, count]) => count === readers.get(n) && !outside.has(n)).map(([n]) => n);
    const before = freed.reduce((sum, n) => sum + gz(constantLines.get(n)!), 0);
    const lines = new Map<string, string | null>();
    const helpersBefore = new Set(w.helpers.keys());
    let after = 0;
    for (const n of buffers) {
      if (!outside.has(n)) {
        lines.set(n, null);
        continue;
      }
      const value = computed[n]!;
      const Ctor = (globalThis as unknown as Record<string, new (b: ArrayBuffer) => ConstData>)[staticBuffers.get(n)!.ctor]!;
      const data = new Ctor(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice().buffer);
      const line = `const ${n} = ${w.constantExpression(n, data)};`;
      lines.set(n, line);
      after += gz(line);
    }
    if (after > before * GROWTH + SLACK_BYTES) {
      for (const n of lines.keys()) w.uncountConstant(n);
      for (const h of w.helpers.keys()) if (!helpersBefore.has(h)) w.helpers.delete(h);
      continue;
    }
    for (const i of members) dropBlocks.add(blockAt[i]!);
    for (const n of freed) dropConstants.add(n);
    for (const [n, line] of lines) bufferLines.set(n, line);
  }
  if (dropBlocks.size === 0) return { blocks: 0 };

  w.init.splice(0, w.init.length, ...init.filter((_, k) => !dropBlocks.has(k)));
  const keptConstants = w.constants.filter((line) => {
    const name = CONSTANT_LINE.exec(line)?.[1];
    if (name === undefined || !dropConstants.has(name)) return true;
    w.uncountConstant(name);
    return false;
  });
  w.constants.splice(0, w.constants.length, ...keptConstants);
  const buffers = w.buffers.flatMap((line) => {
    const name = STATIC_BUFFER.exec(line)?.[1];
    if (name === undefined || !bufferLines.has(name)) return [line];
    const replaced = bufferLines.get(name);
    return replaced === null || replaced === undefined ? [] : [replaced];
  });
  w.buffers.splice(0, w.buffers.length, ...buffers);
  return { blocks: dropBlocks.size };
}
