// The regional zip as Lambda runs it: built by the regional target, unpacked (bundle,
// onnxruntime-node's Linux binaries, models), its handler imported with the models beside it
// (what the template sets: /var/task/models), served by the local Invoke API and called
// through the real @aws-sdk/client-lambda.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { unzipSync } from 'fflate';
import type { LambdaHandler } from '../../adapters/aws-lambda/lambda-types.ts';
import { startLocalInvokeServer } from '../../adapters/aws-lambda/local-invoke-server.ts';
import { buildTarget, type BuildResult } from '../../build/pipeline.ts';
import { regionalTarget } from '../../build/targets/regional.ts';

/** A running regional zip. */
export interface RegionalZip {
  result: BuildResult;
  /** Where the zip was unpacked (the function's /var/task). */
  unpacked: string;
  /** Invokes the function; `functionError` is set when the handler threw. */
  invoke(payload: unknown): Promise<{ functionError?: string; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

/** Builds the regional zip into `work`/out (from `modelsRoot`, default the repository's models) and serves it. */
export async function startRegionalZip(work: string, modelsRoot?: string): Promise<RegionalZip> {
  const result = await buildTarget(regionalTarget, { outDir: join(work, 'out'), ...(modelsRoot ? { modelsRoot } : {}) });
  const unpacked = join(work, 'task');
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(join(work, 'out', 'regional.zip'))))) {
    mkdirSync(dirname(join(unpacked, name)), { recursive: true });
    writeFileSync(join(unpacked, name), bytes);
  }
  process.env.EDGEINFER_MODELS_DIR = join(unpacked, 'models');
  const { handler } = (await import(pathToFileURL(join(unpacked, 'index.mjs')).href)) as { handler: LambdaHandler };
  delete process.env.EDGEINFER_MODELS_DIR;
  const server = await startLocalInvokeServer({ functions: { 'edgeinfer-regional': handler } });
  const client = new LambdaClient({ region: 'us-east-1', endpoint: server.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  return {
    result,
    unpacked,
    async invoke(payload) {
      const out = await client.send(new InvokeCommand({ FunctionName: 'edgeinfer-regional', Payload: new TextEncoder().encode(JSON.stringify(payload)) }));
      return { ...(out.FunctionError ? { functionError: out.FunctionError } : {}), body: JSON.parse(new TextDecoder().decode(out.Payload)) };
    },
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
