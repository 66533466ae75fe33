// `npm start`'s server (adapters/node/server.ts) over a temporary model repository, for the tests
// that send real graphs requests over HTTP and compare every answer with onnxruntime-node's own
// run of the same .onnx: the server started with every named model ready, one reference session
// per model, and the comparison.
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { startLocalServer, type LocalServer } from '../../adapters/node/server.ts';

/** A server over a repository and the reference runs of its graphs. */
export interface ServedRepo {
  server: LocalServer;
  /** onnxruntime-node's run of the model's .onnx, with the session options the server's ort-node engine uses (one thread, basic optimisation). */
  referenceRun(model: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  /** Closes the server and the reference sessions. */
  close(): Promise<void>;
}

/** Starts the server over `root`; every model of `files` (name → its .onnx) must load ready, a failed one fails naming its error. */
export async function serveRepo(root: string, files: Readonly<Record<string, string>>, options: Omit<Parameters<typeof startLocalServer>[0], 'modelsRoot'> = {}): Promise<ServedRepo> {
  const server = await startLocalServer({ port: 0, log: () => {}, demo: false, ...options, modelsRoot: root });
  for (const name of Object.keys(files)) {
    const state = server.service.context.models.state(name);
    expect(state?.status, state?.status === 'failed' ? state.error : name).toBe('ready');
  }
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  return {
    server,
    async referenceRun(model, feeds) {
      const file = files[model];
      if (!file) throw new Error(`no graph for model "${model}" (have: ${Object.keys(files).join(', ')})`);
      let session = sessions.get(model);
      if (!session) sessions.set(model, (session = ort.InferenceSession.create(file, { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 })));
      return (await session).run(feeds);
    },
    async close() {
      await server.close();
      for (const session of sessions.values()) await (await session).release();
    },
  };
}

/** Largest |a[i] − b[i]| (lengths must match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(Number(a[i]) - Number(b[i])));
  return max;
}
