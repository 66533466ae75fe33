// `npm run features:materialize`: the batch side of the feature store. Computes
// per-sender-domain statistics from the training split (never calibration or test) and
// writes them to Upstash (real, or the local REST server) in pipelined batches, printing
// progress. Reads UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN.
import { parseArgs } from 'node:util';
import { createUpstashRemoteCache, type RemoteCache } from '../../core/cache/remote-cache.ts';
import { featureKey } from '../../core/cache/keys.ts';
import { SENDER_DOMAIN_VIEW, senderDomain, senderDomainFeatures, type FeatureView } from '../../core/features/feature-views.ts';
import { loadSplits, type LabeledMessage } from './dataset.ts';

/** One materialized entity. */
export interface MaterializedRow {
  key: string;
  entity: string;
  features: Record<string, number>;
}

/** Per-domain rows of the sender-domain view from labeled messages. */
export function computeSenderDomainRows(messages: readonly LabeledMessage[], view: FeatureView = SENDER_DOMAIN_VIEW): MaterializedRow[] {
  const counts = new Map<string, { messages: number; spam: number }>();
  for (const message of messages) {
    const domain = senderDomain(message.text);
    if (!domain) continue;
    const c = counts.get(domain) ?? { messages: 0, spam: 0 };
    c.messages++;
    c.spam += message.label;
    counts.set(domain, c);
  }
  return [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([entity, c]) => ({ key: featureKey(view.name, view.version, entity), entity, features: senderDomainFeatures(c.messages, c.spam) }));
}

/** Writes rows in pipelined batches; calls `progress` after each batch. Throws when a batch is not written. */
export async function writeRows(
  remote: RemoteCache,
  rows: readonly MaterializedRow[],
  ttlSeconds: number,
  batchSize: number,
  progress: (written: number, total: number, ms: number) => void = () => {},
): Promise<{ written: number; batches: number }> {
  let written = 0;
  let batches = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = rows.slice(i, i + batchSize);
    const result = await remote.setMany(
      batch.map((row) => ({ key: row.key, value: JSON.stringify(row.features), ttlSeconds })),
      30_000,
    );
    if (result.status !== 'ok') throw new Error(`batch ${batches + 1} (rows ${i}–${i + batch.length - 1}) not written: ${result.message}`);
    written += batch.length;
    batches++;
    progress(written, rows.length, result.ms);
  }
  return { written, batches };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { batch: { type: 'string', default: '500' } } });
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive integer, got "${values.batch}"`);
  const url = process.env.UPSTASH_REDIS_REST_URL;
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) {
    console.error(
      'features:materialize: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN ' +
        '(for a local Redis: `npm run redis:rest` in another terminal, then export the two variables it prints)',
    );
    process.exit(2);
  }
  const started = performance.now();
  const train = loadSplits().train;
  const rows = computeSenderDomainRows(train);
  const withDomain = rows.reduce((n, r) => n + (r.features.messages ?? 0), 0);
  console.log(`${SENDER_DOMAIN_VIEW.name}@${SENDER_DOMAIN_VIEW.version}: ${rows.length} sender domains from ${withDomain} of ${train.length} training messages`);
  const remote = createUpstashRemoteCache({ url, token, budgetMs: 30_000, autoPipelining: false });
  const { written, batches } = await writeRows(remote, rows, SENDER_DOMAIN_VIEW.ttlSeconds, batchSize, (done, total, ms) => {
    console.log(`  ${done}/${total} written (${Math.round((done / total) * 100)} %, batch ${Math.round(ms)} ms)`);
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ view: SENDER_DOMAIN_VIEW.name, version: SENDER_DOMAIN_VIEW.version, entities: written, batches, redisCommands: remote.stats().commands, seconds: Math.round(seconds * 100) / 100 }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`features:materialize: ${(error as Error).message}`);
    process.exit(1);
  });
}
