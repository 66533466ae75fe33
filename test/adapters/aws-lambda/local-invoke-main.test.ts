// `npm run lambda:local` as a process: it starts, prints its URL, serves the regional
// function to the real SDK with the environment's knobs, and stops on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';

const repo = writeRegionalModelRepo(['spam-regional']);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  repo.cleanup();
});

function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'adapters/aws-lambda/local-invoke-main.ts'], {
    env: { ...process.env, EDGEINFER_MODELS_DIR: repo.root, LAMBDA_LOCAL_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /local Invoke API on (http:\/\/[^:]+:\d+)/.exec(out);
      if (match) resolve({ child, url: match[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`lambda:local exited with ${code}: ${out}`)));
  });
}

const client = (url: string) => new LambdaClient({ region: 'us-east-1', endpoint: url, maxAttempts: 1, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const invoke = (url: string, payload: unknown) =>
  client(url).send(new InvokeCommand({ FunctionName: 'edgeinfer-regional', Payload: new TextEncoder().encode(JSON.stringify(payload)) }));

describe('npm run lambda:local', () => {
  it('serves the regional function to the SDK and stops cleanly on SIGTERM', async () => {
    const { child, url } = await start({});
    const output = await invoke(url, { model: 'spam-regional', text: 'hello there', requestId: 'p1', deadlineMs: Date.now() + 10_000 });
    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBeUndefined();
    expect(JSON.parse(new TextDecoder().decode(output.Payload))).toMatchObject({ model: { name: 'spam-regional', sha256: repo.sha256['spam-regional'] }, executionProvider: 'cpu' });
    const bad = await invoke(url, { model: 'spam-regional' });
    expect(bad.FunctionError).toBe('Unhandled');
    expect(JSON.parse(new TextDecoder().decode(bad.Payload))).toMatchObject({ errorType: 'InvalidRequest' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('takes its fault knobs from the environment', async () => {
    const { child, url } = await start({ LAMBDA_LOCAL_THROTTLE: '1' });
    await expect(invoke(url, { model: 'spam-regional', text: 'x', requestId: 'p2', deadlineMs: Date.now() + 10_000 })).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    child.kill('SIGTERM');
  });
});
