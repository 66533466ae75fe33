// The node server (`npm start`'s entry) as a child process for load, fault and soak benches:
// spawned on a free port with the given environment, ready once it prints its ready line;
// CPU time and RSS read from /proc (Linux), so the server's cost is measured apart from
// the load generator's.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The node flags `npm start` gives the server (what stands between `tsx` and the script in
 * package.json's "start"), so a bench can run the server as `npm start` does.
 */
export function npmStartNodeFlags(): string[] {
  const start = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
  const match = /^tsx\s+(.*?)\s*adapters\/node\/server\.ts/.exec(start);
  if (!match) throw new Error(`package.json "start" is not "tsx [node flags] adapters/node/server.ts": ${start}`);
  return (match[1] as string).split(/\s+/).filter(Boolean);
}

/** A running server process. */
export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** True while the process has not exited. */
  alive(): boolean;
  /** user + system CPU seconds the server used so far. */
  cpuSeconds(): number;
  /** Resident set size in bytes. */
  rssBytes(): number;
  /** SIGTERM, then wait for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * The rate limit benches run the server with: the in-memory limiter stays on, so its cost is
 * in every measurement, but at a limit no bench reaches, so a bench's one client (127.0.0.1)
 * measures serving, not 429s. A caller's `env` may override it.
 */
export const BENCH_RATE_LIMIT = '1000000000/60s';

/**
 * Spawns adapters/node/server.ts (or `script`: node arguments of a server that prints a line
 * matching `readyLine`, its URL in group 1) with `env` added to this process's environment.
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  script = ['--import', 'tsx', 'adapters/node/server.ts'],
  readyLine = /ready on (http:\/\/127\.0\.0\.1:\d+)/,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, ...script], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', EDGEINFER_RATE_LIMIT: BENCH_RATE_LIMIT, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.once('exit', () => (exited = true));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready in 60 s:\n${output}`)), 60_000);
    const check = () => {
      const match = readyLine.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  const pid = child.pid!;
  const stat = () => {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  };
  return {
    url,
    child,
    output: () => output,
    alive: () => !exited,
    cpuSeconds() {
      const fields = stat();
      // Fields after the command name: utime and stime are the 12th and 13th (clock ticks, 100 Hz).
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    rssBytes() {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : Number.NaN;
    },
    async stop() {
      if (exited) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
