// The Lambda tier inside Vercel's own edge-runtime (no Node built-ins, no eval, no WASM
// code generation): bundled with the browser conditions, the SDK sends through fetch and
// signs with web crypto; escalations reach the local Invoke API, answer, fail with their
// reason, and are aborted at the budget.
import type { EdgeRuntime } from 'edge-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalInvokeServer, type LocalInvokeServer } from '../../../adapters/aws-lambda/local-invoke-server.ts';
import { loadIntoEdgeRuntime } from '../../helpers/edge-runtime.ts';

let server: LocalInvokeServer;
let runtime: EdgeRuntime;

beforeAll(async () => {
  server = await startLocalInvokeServer({
    functions: {
      regional: async (event) => ({
        label: 'spam',
        scores: { ham: 0.03, spam: 0.97 },
        model: { name: 'spam-regional', version: '1', sha256: 'ab'.repeat(32) },
        timings: {},
        // Only the checked fields of an answer pass (core/router/regional-answer.ts): the request id comes back in one of them.
        executionProvider: `cpu/${(event as { requestId?: string }).requestId}`,
      }),
      failing: async () => {
        throw Object.assign(new Error('bad payload'), { name: 'InvalidRequest' });
      },
      slow: () => new Promise((resolve) => setTimeout(resolve, 2_000)),
    },
  });
  runtime = await loadIntoEdgeRuntime(new URL('./lambda-tier-edge-entry.ts', import.meta.url));
});
afterAll(() => server.close());

async function escalate(functionName: string, budgetMs: number): Promise<{ answer: Record<string, any>; elapsedMs: number }> {
  return JSON.parse(await runtime.evaluate<Promise<string>>(`escalateFromEdge(${JSON.stringify(server.url)}, ${JSON.stringify(functionName)}, ${budgetMs})`));
}

describe('Lambda tier in edge-runtime', () => {
  it('escalates through the SDK (fetch handler) and returns the regional answer', async () => {
    const { answer } = await escalate('regional', 3_000);
    expect(answer).toMatchObject({ tier: 'regional', cause: 'not_confident', regional: { label: 'spam', executionProvider: 'cpu/edge-1' } });
    expect(server.invocations.get('regional')).toBe(1);
  });

  it('a function error degrades with its reason', async () => {
    const { answer } = await escalate('failing', 3_000);
    expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason: 'function_error' });
    expect(answer.message).toContain('InvalidRequest: bad payload');
  });

  it('a slow function is abandoned at the budget', async () => {
    const { answer, elapsedMs } = await escalate('slow', 150);
    expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason: 'timeout' });
    expect(elapsedMs).toBeLessThan(150 + 100);
  });
});
