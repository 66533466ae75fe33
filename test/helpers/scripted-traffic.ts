// Scripted traffic for telemetry tests: real messages of the test split (so some escalate),
// some sent twice (cache hits), and a few requests that must fail, against any fetch.
import { loadSplits } from '../../models/training/dataset.ts';

/** What the client saw, to compare with what telemetry reports. */
export interface ObservedTraffic {
  predictions: number;
  cached: number;
  escalated: number;
  degraded: number;
  /** `model@version` → label → count. */
  labels: Record<string, Record<string, number>>;
  errors: Record<string, number>;
  latenciesMs: number[];
}

/** Sends `distinct` test-split messages, repeats the first `repeats`, plus 2 malformed bodies and 1 unknown model. */
export async function sendScriptedTraffic(fetchFn: (request: Request) => Promise<Response>, base: string, distinct = 120, repeats = 30): Promise<ObservedTraffic> {
  // Capped well under the 64 KB body limit (a few corpus messages are larger).
  // Ham and spam alternately: the split is in corpus order (all the ham first).
  const { test } = loadSplits();
  const ham = test.filter((m) => m.label === 0);
  const spam = test.filter((m) => m.label === 1);
  const texts = Array.from({ length: distinct }, (_, i) => ((i % 2 ? spam : ham)[i >> 1] as { text: string }).text.slice(0, 20_000));
  const observed: ObservedTraffic = { predictions: 0, cached: 0, escalated: 0, degraded: 0, labels: {}, errors: {}, latenciesMs: [] };
  const post = (body: string) => fetchFn(new Request(`${base}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
  for (const text of [...texts, ...texts.slice(0, repeats)]) {
    const response = await post(JSON.stringify({ text }));
    const answer = (await response.json()) as {
      label: string;
      model: { name: string; version: string };
      cached: boolean;
      escalation?: unknown;
      degraded: boolean;
      timings: { totalMs: number };
    };
    if (response.status !== 200) throw new Error(`predict answered ${response.status}: ${JSON.stringify(answer)}`);
    observed.predictions++;
    if (answer.cached) observed.cached++;
    else if (answer.escalation) observed.escalated++;
    if (answer.degraded) observed.degraded++;
    const arm = `${answer.model.name}@${answer.model.version}`;
    const labels = (observed.labels[arm] ??= {});
    labels[answer.label] = (labels[answer.label] ?? 0) + 1;
    observed.latenciesMs.push(answer.timings.totalMs);
  }
  for (const body of ['{"text": ', 'not json']) {
    const response = await post(body);
    const { error } = (await response.json()) as { error: { code: string } };
    observed.errors[error.code] = (observed.errors[error.code] ?? 0) + 1;
  }
  const unknown = await post(JSON.stringify({ text: 'hello', model: 'no-such-model' }));
  const { error } = (await unknown.json()) as { error: { code: string } };
  observed.errors[error.code] = (observed.errors[error.code] ?? 0) + 1;
  return observed;
}
