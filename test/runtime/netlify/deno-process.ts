// Starts a built Netlify edge function under Deno (through deno-serve.mjs) on a free port and
// stops it again: shared by the artifact tests that serve a temp model repository.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface DenoEdgeFunction {
  port: number;
  close(): Promise<void>;
}

export async function startDenoEdgeFunction(deno: string, functionFile: string, env: Record<string, string>): Promise<DenoEdgeFunction> {
  const serve = fileURLToPath(new URL('./deno-serve.mjs', import.meta.url));
  const child = spawn(deno, ['run', '--allow-read', '--allow-net', '--allow-env', serve, functionFile], {
    env: { ...process.env, ...env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deno did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      const match = /listening (\d+)/.exec(d.toString());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`deno exited with ${code}: ${stderr}`)));
  });
  return {
    port,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
