// The fuzz generator against the built Lambda@Edge zips, invoked in Node with CloudFront
// events (test/fuzz/cloudfront-sender.ts): /v2/* goes to the origin-request function, the
// rest to the viewer-request one, bodies base64 and cut where CloudFront cuts them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz, type FuzzCase } from './bad-requests.ts';
import { cloudFrontEventFor, EXPOSED_BODY_BYTES } from './cloudfront-sender.ts';
import { goodRequest, startFuzzTarget, type FuzzTarget } from './targets.ts';
import { expectCleanFuzz } from './expect-clean.ts';

let target: FuzzTarget;

beforeAll(async () => {
  target = await startFuzzTarget('lambda-edge');
}, 180_000);
afterAll(async () => {
  await target?.close();
});

const get = (path: string): FuzzCase => ({ index: -1, kind: 'probe', method: 'GET', path, headers: [], body: null });

describe('fuzzing the Lambda@Edge artifacts (CloudFront events)', () => {
  it('answers a readiness probe on a cold function 200 (was a 503: models load lazily at the edge)', async () => {
    expect(await target.send(get('/v2/health/ready'))).toEqual({ status: 200, code: 'ok' });
  });

  it('maps a body over 40 KB as CloudFront does: cut to 40 KB, inputTruncated, base64', () => {
    const body = new Uint8Array(EXPOSED_BODY_BYTES['viewer-request'] + 10).fill(0x61);
    const event = cloudFrontEventFor({ ...goodRequest(), body }, 'viewer-request');
    const cfBody = event.Records[0]!.cf.request.body!;
    expect(cfBody.inputTruncated).toBe(true);
    expect(Buffer.from(cfBody.data!, 'base64').byteLength).toBe(40 * 1024);
    expect(event.Records[0]!.cf.request.headers['content-length']).toEqual([{ key: 'Content-Length', value: String(body.byteLength) }]);
  });

  it('answers 400 seeded bad requests: none ≥ 500, every error JSON with a code, both triggers reached', async () => {
    const summary = await runFuzz(target.send, { seed: 20261130, count: 400, concurrency: 4, models: target.models });
    expectCleanFuzz(summary, 400);
    const { byTrigger } = target.details!() as { byTrigger: Record<string, number> };
    expect(byTrigger['viewer-request']).toBeGreaterThan(100);
    expect(byTrigger['origin-request']).toBeGreaterThan(50);
    expect((await target.send(goodRequest())).status).toBe(200);
  });
});
