// Entry bundled (IIFE, browser conditions) into Vercel's edge-runtime by
// lambda-regional-tier.edge-runtime.test.ts: one global that invokes the regional function
// through the Lambda tier and answers the outcome as a JSON string (values cross the VM
// boundary as strings).
import { createLambdaRegionalTier } from '../../../core/router/lambda-regional-tier.ts';
import { EnsembleRouter } from '../../../core/router/router.ts';

/** Routes one unconfident request through the Lambda tier with `budgetMs`; answers JSON. */
async function escalateFromEdge(endpoint: string, functionName: string, budgetMs: number): Promise<string> {
  const regional = createLambdaRegionalTier({
    functionName,
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const router = new EnsembleRouter({
    policy: { confidence: { measure: 'top', threshold: 0.9 }, budgetMs, maxInFlight: 8, circuit: { failures: 5, windowMs: 10_000, halfOpenAfterMs: 5_000 } },
    regional,
  });
  const started = performance.now();
  const answer = await router.route({
    runEdge: async () => ({ label: 'spam', probabilities: [0.4, 0.6] }),
    regionalRequest: { model: 'spam-regional', text: 'Subject: hi\n\nfrom the edge', requestId: 'edge-1' },
  });
  return JSON.stringify({ answer, elapsedMs: performance.now() - started });
}

(globalThis as unknown as { escalateFromEdge: typeof escalateFromEdge }).escalateFromEdge = escalateFromEdge;
