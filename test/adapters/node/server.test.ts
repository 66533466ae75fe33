// The local server as a user runs it: a real process, a real socket. It prints its ready
// line, answers over HTTP (including an oversized upload), and exits 0 on SIGINT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let repo: ReturnType<typeof writeRegionalModelRepo>;
let child: ChildProcess;
let url: string;
let output = '';

beforeAll(async () => {
  repo = writeRegionalModelRepo(['spam-edge']);
  child = spawn(process.execPath, ['--import', 'tsx', 'adapters/node/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', EDGEINFER_MODELS_DIR: repo.root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not get ready:\n${output}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /ready on (http:\/\/127\.0\.0\.1:\d+) in \d+ ms/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
});
afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  repo.cleanup();
});

describe('npm start server', () => {
  it('prints a curl example that works', async () => {
    const curl = /curl -s (\S+) -H 'content-type: application\/json' -d '(.+)'/.exec(output);
    expect(curl).not.toBeNull();
    const response = await fetch(curl![1]!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: curl![2]! });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { label: string; model: { sha256: string } };
    expect(['ham', 'spam']).toContain(answer.label);
    expect(answer.model.sha256).toBe(repo.sha256['spam-edge']);
    expect(response.headers.get('server-timing')).toContain('infer;dur=');
  });

  it('answers an oversized chunked upload with 413 JSON, and keeps serving', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(`{"text":"${'x'.repeat(100 * 1024)}`);
      req.end('"}');
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error.code).toBe('payload_too_large');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('reports ready over KServe V2', async () => {
    const response = await fetch(`${url}/v2/health/ready`);
    expect(response.status).toBe(200);
  });

  it('shuts down cleanly on SIGINT', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('SIGINT, shutting down');
  });
});
