// `npm run features:materialize -- [--view v[,w]] [--since YYYY-MM-DD] [--dry-run] [--batch n]`:
// the batch side of the feature store. For each declared view (features/*.json) it computes
// the values from the view's source, as of the end of the data, and writes them to Upstash
// (real, or the local REST server over real Redis) under versioned keys with the view's TTL,
// in pipelined batches with a progress bar. Idempotent: each batch first reads the stored
// values (one MGET) and writes only what differs, so a second run over unchanged data writes
// nothing and says so. --dry-run prints entity counts and bytes without touching Redis.
// --since keeps entities with source rows on or after that date (an incremental run).
// Reads UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeEmbedding, type EmbeddingCodec, EMBEDDING_CODECS } from '../../core/cache/embedding-codecs.ts';
import { createUpstashRemoteCache, type RemoteCache } from '../../core/cache/remote-cache.ts';
import { senderDomain, viewKey, type FeatureViewDeclaration, type TabularFeatureView } from '../../core/features/declarations.ts';
import { loadFeatureRepository } from '../../features/index.ts';
import { loadSplits, type LabeledMessage } from './dataset.ts';
import { dateOfDay, dayOfDate, loadFlights, type Flights } from './flights-data.ts';
import { countView, flightsBetween, flightsInWindow, valuesAsOf } from './flights-features.ts';

/** One materialized entity: its key and the stored text. */
export interface MaterializedRow {
  key: string;
  entity: string;
  value: string;
}

/** Per-sender-domain statistics (spam example): count, smoothed spam rate, log count. */
export function senderDomainFeatures(messages: number, spam: number): Record<string, number> {
  return { messages, spamRate: (spam + 1) / (messages + 2), logMessages: Math.log1p(messages) };
}

/** Rows of the sender-domain view from labeled messages (the training split, never calibration or test). */
export function computeSenderDomainRows(messages: readonly LabeledMessage[], view: FeatureViewDeclaration): MaterializedRow[] {
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
    .map(([entity, c]) => ({ key: viewKey(view, entity), entity, value: JSON.stringify(senderDomainFeatures(c.messages, c.spam)) }));
}

/**
 * Rows of a flights view as of the start of day `asOf` (values from the days before it), for
 * every entity with flights in its window: the others read as the declared defaults anyway.
 * `since`: only entities with flights on days [since, asOf).
 */
export function computeFlightViewRows(flights: Flights, view: TabularFeatureView, asOf: number, since?: number): MaterializedRow[] {
  const counts = countView(flights, view);
  const rows: MaterializedRow[] = [];
  counts.entities.forEach((entity, e) => {
    if (flightsInWindow(counts, e, asOf) === 0) return;
    if (since !== undefined && flightsBetween(counts, e, since, asOf) === 0) return;
    rows.push({ key: viewKey(view, entity), entity, value: JSON.stringify(valuesAsOf(counts, e, asOf)) });
  });
  return rows.sort((a, b) => (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0));
}

/** What training writes for an embedding view: the vectors and the codec chosen by measured agreement. */
export interface EmbeddingTable {
  view: string;
  dims: number;
  codec: EmbeddingCodec;
  /** Model whose training learned the vectors, and its sha256. */
  model: { name: string; version: string; sha256: string };
  vectors: Record<string, number[]>;
}

/** Rows of an embedding view from the table its source names, in the table's codec. */
export function computeEmbeddingRows(view: FeatureViewDeclaration, root = fileURLToPath(new URL('../../', import.meta.url))): MaterializedRow[] {
  if (view.kind !== 'embedding') throw new Error(`${view.file}: not an embedding view`);
  const file = view.source.file;
  if (typeof file !== 'string') throw new Error(`${view.file}: source.file must name the embedding table (relative to the repository)`);
  const table = JSON.parse(readFileSync(new URL(file, `file://${root.endsWith('/') ? root : `${root}/`}`), 'utf8')) as EmbeddingTable;
  if (table.view !== view.name || table.dims !== view.dims) throw new Error(`${file}: table is for view "${table.view}" with ${table.dims} dims, the declaration says "${view.name}" with ${view.dims}`);
  if (!EMBEDDING_CODECS.includes(table.codec)) throw new Error(`${file}: unknown codec "${table.codec}"`);
  return Object.keys(table.vectors)
    .sort()
    .map((entity) => ({ key: viewKey(view, entity), entity, value: encodeEmbedding(Float32Array.from(table.vectors[entity] as number[]), table.codec) }));
}

/** Outcome of writing one view. */
export interface WriteReport {
  rows: number;
  written: number;
  unchanged: number;
  batches: number;
  bytesWritten: number;
  ms: number;
}

/**
 * Writes rows in pipelined batches, each preceded by one MGET of its keys so that values
 * already stored (same text) are not written again. Throws when a batch fails.
 */
export async function writeRows(
  remote: RemoteCache,
  rows: readonly MaterializedRow[],
  ttlSeconds: number,
  batchSize: number,
  progress: (done: number, total: number, written: number) => void = () => {},
): Promise<WriteReport> {
  const started = performance.now();
  let written = 0;
  let unchanged = 0;
  let batches = 0;
  let bytesWritten = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = rows.slice(i, i + batchSize);
    const stored = await remote.mget(batch.map((r) => r.key));
    if (stored.status === 'skipped') throw new Error(`batch ${batches + 1} (rows ${i}–${i + batch.length - 1}): reading stored values failed: ${stored.message}`);
    const changed = batch.filter((row, j) => stored.status !== 'hit' || stored.value[j] !== row.value);
    if (changed.length > 0) {
      const result = await remote.setMany(
        changed.map((row) => ({ key: row.key, value: row.value, ttlSeconds })),
        30_000,
      );
      if (result.status !== 'ok') throw new Error(`batch ${batches + 1} (rows ${i}–${i + batch.length - 1}) not written: ${result.message}`);
    }
    written += changed.length;
    unchanged += batch.length - changed.length;
    for (const row of changed) bytesWritten += row.key.length + row.value.length;
    batches++;
    progress(Math.min(rows.length, i + batch.length), rows.length, written);
  }
  return { rows: rows.length, written, unchanged, batches, bytesWritten, ms: performance.now() - started };
}

/** Rows of every selected view, computed from their sources. */
export async function computeRows(
  selected: readonly FeatureViewDeclaration[],
  options: { since?: string; log?: (line: string) => void } = {},
): Promise<Array<{ view: FeatureViewDeclaration; rows: MaterializedRow[]; asOf?: string }>> {
  const log = options.log ?? (() => {});
  let flights: Flights | undefined;
  const out: Array<{ view: FeatureViewDeclaration; rows: MaterializedRow[]; asOf?: string }> = [];
  for (const view of selected) {
    switch (view.source.kind) {
      case 'spam-assassin':
        out.push({ view, rows: computeSenderDomainRows(loadSplits().train, view) });
        break;
      case 'flights': {
        if (!flights) {
          log('reading vega-datasets data/flights-3m.parquet …');
          flights = await loadFlights();
        }
        // The online store answers for the day after the data: values from every day before it.
        let asOf = 0;
        for (let i = 0; i < flights.size; i++) asOf = Math.max(asOf, (flights.day[i] as number) + 1);
        const since = options.since === undefined ? undefined : dayOfDate(options.since);
        out.push({ view, rows: computeFlightViewRows(flights, view as TabularFeatureView, asOf, since), asOf: dateOfDay(asOf) });
        break;
      }
      case 'flights-embeddings':
        out.push({ view, rows: computeEmbeddingRows(view) });
        break;
      default:
        throw new Error(`${view.file}: no materializer for source kind "${view.source.kind}" (known: spam-assassin, flights, flights-embeddings)`);
    }
  }
  return out;
}

function progressBar(label: string): (done: number, total: number, written: number) => void {
  const tty = process.stdout.isTTY;
  return (done, total, written) => {
    const share = total ? done / total : 1;
    const bar = '#'.repeat(Math.round(share * 30)).padEnd(30, '.');
    const line = `  ${label} [${bar}] ${Math.round(share * 100)} % ${done}/${total} (${written} written)`;
    if (tty) process.stdout.write(`\r${line}${done === total ? '\n' : ''}`);
    else if (done === total || Math.floor(share * 10) !== Math.floor(((done - 1) / total) * 10)) console.log(line);
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { batch: { type: 'string', default: '500' }, view: { type: 'string' }, since: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } },
  });
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive integer, got "${values.batch}"`);
  if (values.since !== undefined) dayOfDate(values.since);
  const repository = loadFeatureRepository();
  const selected = values.view ? values.view.split(',').map((name) => repository.view(name.trim())) : [...repository.views.values()];
  const dryRun = values['dry-run'];
  const url = process.env.UPSTASH_REDIS_REST_URL;
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!dryRun && (!url || !token)) {
    console.error(
      'features:materialize: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN ' +
        '(for a local Redis: `npm run redis:rest` in another terminal, then export the two variables it prints), or pass --dry-run',
    );
    process.exit(2);
  }
  const computed = await computeRows(selected, { ...(values.since ? { since: values.since } : {}), log: (line) => console.log(line) });
  const remote = dryRun ? undefined : createUpstashRemoteCache({ url: url as string, token: token as string, budgetMs: 30_000, autoPipelining: false });
  const summary: Array<Record<string, unknown>> = [];
  for (const { view, rows, asOf } of computed) {
    const bytes = rows.reduce((n, r) => n + r.key.length + r.value.length, 0);
    const name = `${view.name}@${view.version}`;
    if (!remote) {
      console.log(`${name}: ${rows.length} entities, ${bytes} bytes (keys + values)${asOf ? `, as of ${asOf}` : ''} — dry run, nothing written`);
      summary.push({ view: view.name, version: view.version, entities: rows.length, bytes, dryRun: true });
      continue;
    }
    const report = await writeRows(remote, rows, view.ttlSeconds, batchSize, progressBar(name));
    const rowsPerSecond = Math.round(report.rows / (report.ms / 1000));
    console.log(
      report.written === 0
        ? `${name}: ${report.rows} entities already stored with these values; nothing written`
        : `${name}: ${report.written} of ${report.rows} entities written (${report.unchanged} unchanged), ${report.bytesWritten} bytes, TTL ${view.ttlSeconds} s, ${rowsPerSecond} rows/s`,
    );
    summary.push({ view: view.name, version: view.version, ...report, ms: Math.round(report.ms), rowsPerSecond, ...(asOf ? { asOf } : {}) });
  }
  console.log(JSON.stringify({ views: summary, redisCommands: remote?.stats().commands ?? 0 }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`features:materialize: ${(error as Error).message}`);
    process.exit(1);
  });
}
