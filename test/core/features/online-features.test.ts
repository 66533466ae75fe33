// Online features against real Redis: the batch job writes the training split's sender
// domains through the local Upstash REST server; the request path reads every view in one
// round trip, answers from L1 next time, and falls back to counted defaults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashRemoteCache, type RemoteCache } from '../../../core/cache/remote-cache.ts';
import { SENDER_DOMAIN_VIEW, senderDomain, senderDomainFeatures, type FeatureView } from '../../../core/features/feature-views.ts';
import { OnlineFeatures } from '../../../core/features/online-features.ts';
import { computeSenderDomainRows, writeRows } from '../../../models/training/materialize-features.ts';
import { loadSplits, type LabeledMessage } from '../../../models/training/dataset.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/features online feature tests');
// A view version of its own per run, so keys never meet another run's.
const VIEW: FeatureView = { ...SENDER_DOMAIN_VIEW, version: Number(`${Date.now() % 1_000_000}${process.pid % 1000}`) };
const msg = (from: string, label: 0 | 1): LabeledMessage => ({ text: `From: ${from}\nSubject: hi\n\nbody`, label, checksum: from, group: 'x' });

describe('sender-domain view', () => {
  it('extracts the lower-cased domain of the From address', () => {
    expect(senderDomain('From: "Ann" <Ann@Mail.Example.COM>\nSubject: x\n\nhello')).toBe('mail.example.com');
    expect(senderDomain('From: nobody\n\nhello')).toBeNull();
    expect(senderDomain('just a body, no headers')).toBeNull();
  });

  it('computes smoothed per-domain statistics', () => {
    const rows = computeSenderDomainRows([msg('a@x.org', 1), msg('b@x.org', 1), msg('c@x.org', 0), msg('d@y.net', 0), msg('nobody', 1)], VIEW);
    expect(rows.map((r) => r.entity)).toEqual(['x.org', 'y.net']);
    expect(rows[0]?.features).toEqual({ messages: 3, spamRate: 3 / 5, logMessages: Math.log1p(3) });
    expect(rows[1]?.features).toEqual(senderDomainFeatures(1, 0));
    expect(rows[0]?.key).toBe(`f:sender_domain:${VIEW.version}:x.org`);
  });
});

describe.skipIf(!hasRedis)('OnlineFeatures over real Redis', () => {
  let server: UpstashRestServer;
  let remote: RemoteCache;
  const splits = loadSplits();
  const rows = computeSenderDomainRows(splits.train, VIEW);
  const byDomain = new Map(rows.map((r) => [r.entity, r.features]));

  beforeAll(async () => {
    server = await startLocalUpstash();
    remote = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 2_000 });
    const progress: number[] = [];
    const result = await writeRows(remote, rows, 600, 250, (done) => progress.push(done));
    expect(result.written).toBe(rows.length);
    expect(progress.at(-1)).toBe(rows.length);
    expect(result.batches).toBe(Math.ceil(rows.length / 250));
  });
  afterAll(async () => server?.close());

  it('materialized the training split: hundreds of domains, every training message with an address counted', () => {
    expect(rows.length).toBeGreaterThan(500);
    expect(rows.reduce((n, r) => n + (r.features.messages as number), 0)).toBeGreaterThan(splits.train.length * 0.95);
  });

  it('fetches every view in one round trip, then from L1; unknown domains get defaults and are counted', async () => {
    const views = [VIEW, { ...VIEW, name: 'sender_domain_copy' }];
    const features = new OnlineFeatures({ views, remote });
    const known = splits.calibration.find((m) => byDomain.has(senderDomain(m.text) ?? '')) as LabeledMessage;
    const domain = senderDomain(known.text) as string;
    const before = remote.stats().calls;
    const first = await features.fetch(known.text);
    expect(remote.stats().calls - before).toBe(1);
    expect(first.roundTrips).toBe(1);
    expect(first.values[VIEW.name]).toEqual(byDomain.get(domain));
    expect(first.sources[VIEW.name]).toEqual({ entity: domain, source: 'l2' });
    // The copy view was never materialized: defaults, in the same round trip.
    expect(first.values.sender_domain_copy).toEqual(VIEW.defaults);
    const second = await features.fetch(known.text);
    expect(second.roundTrips).toBe(0);
    expect(second.sources[VIEW.name]?.source).toBe('l1');

    const unknown = await features.fetch('From: someone@never-seen-domain.example\n\nhi');
    expect(unknown.values[VIEW.name]).toEqual(VIEW.defaults);
    expect(unknown.sources[VIEW.name]?.source).toBe('default');
    const noSender = await features.fetch('hello, no headers');
    expect(noSender.roundTrips).toBe(0);
    // Absent: the copy view (fetch 1, then its remembered absence in L1), and both views of the unknown domain; defaults add the two views of the sender-less message.
    expect(features.stats()).toMatchObject({ requests: 4, fromL2: 1, fromL1: 1, absentEntities: 4, defaults: 6 });
  });

  it('Redis down: defaults with the reason, no error', async () => {
    const down = await startLocalUpstash();
    const url = down.url;
    await down.close();
    const features = new OnlineFeatures({ views: [VIEW], remote: createUpstashRemoteCache({ url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 1_000 }) });
    const result = await features.fetch('From: a@spamassassin.taint.org\n\nhi');
    expect(result.values[VIEW.name]).toEqual(VIEW.defaults);
    expect(result.l2Skipped).toBe('unavailable');
  });
});
