// Materialization into real Redis through the local Upstash REST server: versioned keys with
// the view's TTL, pipelined batches with progress, a second run over unchanged data writes
// nothing, a changed value is the only one written again; the CLI's --dry-run counts and bytes
// without Redis, and a real CLI run says "nothing written" the second time.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashRemoteCache, type RemoteCache } from '../../../core/cache/remote-cache.ts';
import { parseFeatureView } from '../../../core/features/declarations.ts';
import { loadFeatureRepository } from '../../../features/index.ts';
import { computeSenderDomainRows, senderDomainFeatures, writeRows, type MaterializedRow } from '../../../models/training/materialize-features.ts';
import type { LabeledMessage } from '../../../models/training/dataset.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';

const run = promisify(execFile);
const hasRedis = await redisAvailable('features:materialize tests');
const VERSION = Number(`${Date.now() % 1_000_000}${process.pid % 1000}`);
const msg = (from: string, label: 0 | 1): LabeledMessage => ({ text: `From: ${from}\nSubject: hi\n\nbody`, label, checksum: from, group: 'x' });

describe('sender-domain rows (spam example, declared view)', () => {
  it('computes smoothed per-domain statistics under the declared view key', () => {
    const view = loadFeatureRepository().view('sender_domain');
    const rows = computeSenderDomainRows([msg('a@x.org', 1), msg('b@x.org', 1), msg('c@x.org', 0), msg('d@y.net', 0), msg('nobody', 1)], view);
    expect(rows.map((r) => r.entity)).toEqual(['x.org', 'y.net']);
    expect(JSON.parse(rows[0]?.value as string)).toEqual({ messages: 3, spamRate: 3 / 5, logMessages: Math.log1p(3) });
    expect(JSON.parse(rows[1]?.value as string)).toEqual(senderDomainFeatures(1, 0));
    expect(rows[0]?.key).toBe('f:sender_domain:1:x.org');
  });
});

describe('the CLI without Redis', () => {
  it('--dry-run prints entities and bytes per view and writes nothing; an unknown view is named', async () => {
    const { stdout } = await run('npx', ['tsx', 'models/training/materialize-features.ts', '--dry-run', '--view', 'sender_domain'], { env: { ...process.env, UPSTASH_REDIS_REST_URL: '', UPSTASH_REDIS_REST_TOKEN: '' } });
    expect(stdout).toMatch(/sender_domain@1: \d{3,} entities, \d+ bytes \(keys \+ values\) — dry run, nothing written/);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(summary.redisCommands).toBe(0);
    expect(summary.views[0]).toMatchObject({ view: 'sender_domain', dryRun: true });
    expect(summary.views[0].bytes).toBeGreaterThan(summary.views[0].entities * 20);
    await expect(run('npx', ['tsx', 'models/training/materialize-features.ts', '--dry-run', '--view', 'nope'])).rejects.toMatchObject({ stderr: expect.stringContaining('unknown feature view "nope"; declared views: airport_embedding') });
  });
});

describe.skipIf(!hasRedis)('writeRows over real Redis', () => {
  let server: UpstashRestServer;
  let remote: RemoteCache;
  const view = parseFeatureView(
    JSON.stringify({ name: 'materialize_test', version: VERSION, entity: { name: 'k', fields: ['k'] }, fields: [{ name: 'v', dtype: 'float32', default: 0 }], ttlSeconds: 300, source: { kind: 'test' } }),
    'features/materialize_test.json',
  );
  const rows: MaterializedRow[] = Array.from({ length: 1234 }, (_, i) => ({ key: `f:${view.name}:${view.version}:e${i}`, entity: `e${i}`, value: JSON.stringify({ v: i / 7 }) }));

  beforeAll(async () => {
    server = await startLocalUpstash();
    remote = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 30_000, autoPipelining: false });
  });
  afterAll(async () => server?.close());

  it('first run writes every row in pipelined batches with progress; the second writes nothing; a change writes one', async () => {
    const progress: Array<[number, number]> = [];
    const before = remote.stats().calls;
    const first = await writeRows(remote, rows, view.ttlSeconds, 500, (done, _total, written) => progress.push([done, written]));
    expect(first).toMatchObject({ rows: 1234, written: 1234, unchanged: 0, batches: 3 });
    expect(progress).toEqual([[500, 500], [1000, 1000], [1234, 1234]]);
    // One MGET and one pipeline per batch.
    expect(remote.stats().calls - before).toBe(6);
    const stored = await remote.mget([rows[0]!.key, rows[1233]!.key]);
    expect(stored).toMatchObject({ status: 'hit', value: [rows[0]!.value, rows[1233]!.value] });
    const second = await writeRows(remote, rows, view.ttlSeconds, 500);
    expect(second).toMatchObject({ rows: 1234, written: 0, unchanged: 1234, bytesWritten: 0 });
    const changed = rows.map((r, i) => (i === 700 ? { ...r, value: JSON.stringify({ v: -1 }) } : r));
    const third = await writeRows(remote, changed, view.ttlSeconds, 500);
    expect(third).toMatchObject({ written: 1, unchanged: 1233 });
    expect((await remote.get(rows[700]!.key))).toMatchObject({ status: 'hit', value: '{"v":-1}' });
  });

  it('keys carry the view TTL', async () => {
    const { Redis } = await import('ioredis');
    const { TEST_REDIS_URL } = await import('../../helpers/require-redis.ts');
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const ttl = await redis.ttl(rows[5]!.key);
      expect(ttl).toBeGreaterThan(250);
      expect(ttl).toBeLessThanOrEqual(300);
    } finally {
      redis.disconnect();
    }
  });

  it('the CLI writes a declared view, then a second run writes nothing and says so', async () => {
    const env = { ...process.env, UPSTASH_REDIS_REST_URL: server.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN };
    const args = ['tsx', 'models/training/materialize-features.ts', '--view', 'sender_domain', '--batch', '400'];
    await run('npx', args, { env });
    const { stdout } = await run('npx', args, { env });
    expect(stdout).toMatch(/sender_domain@1: \d+ entities already stored with these values; nothing written/);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(summary.views[0]).toMatchObject({ view: 'sender_domain', written: 0, bytesWritten: 0 });
    // Reads only: one MGET per batch.
    expect(summary.redisCommands).toBe(summary.views[0].batches);
  });
});
