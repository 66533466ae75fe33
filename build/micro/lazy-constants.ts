// Constants that only run() reads are decoded on their first read instead of at import. A
// graph with an If on a run-time input (silero VAD's sample rate: one set of weights per rate)
// then never decodes the weights of a branch it does not take, and a bundle of many modules
// decodes only the models it serves. The base64 text stays a top-level string literal (parsed
// once with the module; inside a lazily compiled function V8 would scan it twice).
import type { ModuleWriter } from './module-writer.ts';

// Constant and buffer names as the emitters embed them in code: which ones run() reads can only
// be found in its text (as dropUnreadConstants and precompute.ts find them).
const NAME = /(?<![\w$])(?:c|t)\$\d+(?![\w$])/g;
/**
 * Shorter base64 stays decoded at import: it decodes in microseconds, and the lazy form's
 * declarations and read expressions (~100 bytes) would grow small modules for nothing.
 */
const DEFER_FROM_CHARS = 4096;

/**
 * Rewrites, in place, the constant and buffer lines of `w` whose names appear in `run` and
 * nowhere in `elsewhere` (import-time code, helpers, other declarations): each becomes its
 * base64 literal as a string constant and a `let` that the reads in `run` fill on first use.
 * Returns the run lines with those reads rewritten, and how many constants were deferred.
 */
export function deferRunOnlyConstants(w: ModuleWriter, elsewhere: string, run: readonly string[]): { run: string[]; deferred: number } {
  // Declaration line → name, for the long base64 constants ModuleWriter recorded as it wrote them.
  const declared = new Map<string, string>();
  for (const [name, d] of w.decoded) if (d.text.length >= DEFER_FROM_CHARS) declared.set(`const ${name} = ${d.head}"${d.text}"${d.tail};`, name);
  const notDecoded = [...w.constants, ...w.buffers].filter((line) => !declared.has(line));
  const readElsewhere = new Set([elsewhere, ...notDecoded].join('\n').match(NAME) ?? []);
  const readInRun = new Set(run.join('\n').match(NAME) ?? []);
  const present = [...w.constants, ...w.buffers].flatMap((line) => declared.get(line) ?? []);
  const lazy = new Set(present.filter((n) => readInRun.has(n) && !readElsewhere.has(n)));
  if (lazy.size === 0) return { run: [...run], deferred: 0 };
  const rewrite = (lines: string[]) => {
    const out = lines.flatMap((line) => {
      const name = declared.get(line);
      if (name === undefined || !lazy.has(name)) return [line];
      return [`const ${name}$b64 = "${w.decoded.get(name)!.text}";`, `let ${name} = null;`];
    });
    lines.splice(0, lines.length, ...out);
  };
  rewrite(w.constants);
  rewrite(w.buffers);
  const read = (name: string) => {
    const d = w.decoded.get(name)!;
    return `(${name} ?? (${name} = ${d.head}${name}$b64${d.tail}))`;
  };
  return { run: run.map((line) => line.replace(NAME, (name) => (lazy.has(name) ? read(name) : name))), deferred: lazy.size };
}
