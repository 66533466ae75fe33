// Progress lines for long micro compiles (a large graph takes tens of seconds): one line per
// phase and about one a second while nodes compile, on stderr, only when stderr is a terminal
// (CI logs and piped output stay as they were). EDGEINFER_PROGRESS=1 forces it on, =0 off.
import type { CompileProgress } from './compile.ts';

interface Stream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** An `onProgress` for compileOnnxToModule that prints `label: phase …` lines, or undefined when quiet. */
export function compileProgressPrinter(label: string, stream: Stream = process.stderr, env: Record<string, string | undefined> = process.env): ((p: CompileProgress) => void) | undefined {
  const forced = env.EDGEINFER_PROGRESS;
  if (forced === '0' || (forced !== '1' && !stream.isTTY)) return undefined;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return (p) => {
    const line =
      p.phase === 'read' ? `read the graph (${p.total} nodes)`
      : p.phase === 'nodes' ? (p.node === undefined ? `compiled ${p.done}/${p.total} nodes` : `compiling nodes ${p.done}/${p.total} (${p.node})`)
      : 'assembled the module';
    stream.write(`${label}: ${line}, ${seconds(p.elapsedMs)}\n`);
  };
}
