// The CloudFront sender judges what CloudFront would do with a handler's answer: a thrown
// handler, an invalid status or an oversized generated response is a 5xx at the viewer.
import { describe, expect, it } from 'vitest';
import type { CloudFrontResultResponse } from '../../adapters/lambda-edge/lambda-edge.ts';
import { cloudFrontSender, triggerFor } from './cloudfront-sender.ts';
import { goodRequest } from './targets.ts';

const json = (status: string, body: string): CloudFrontResultResponse => ({ status, headers: { 'content-type': [{ key: 'content-type', value: 'application/json' }] }, body, bodyEncoding: 'text' });
const senderAnswering = (answer: () => Promise<CloudFrontResultResponse>) => cloudFrontSender({ 'viewer-request': answer, 'origin-request': answer });

describe('cloudFrontSender', () => {
  it('routes /v2/* to origin-request and the rest to viewer-request, as the distribution does', () => {
    expect(triggerFor('/v2/models/spam-edge/infer')).toBe('origin-request');
    expect(triggerFor('/v1/predict')).toBe('viewer-request');
    expect(triggerFor('/v2')).toBe('viewer-request');
  });

  it('counts a thrown handler, a bad status and an oversized response as 5xx violations', async () => {
    const thrown = await senderAnswering(() => Promise.reject(new Error('boom')))(goodRequest());
    expect(thrown).toMatchObject({ status: 502, code: 'handler_threw' });
    expect(thrown.violation).toContain('boom');
    expect(await senderAnswering(async () => json('200 OK', '{}'))(goodRequest())).toMatchObject({ status: 502, code: 'invalid_result' });
    const huge = JSON.stringify({ error: { code: 'x', message: 'y'.repeat(41 * 1024) } });
    expect(await senderAnswering(async () => json('400', huge))(goodRequest())).toMatchObject({ status: 502, code: 'response_too_large' });
  });

  it('accepts a JSON error with a code and flags one without', async () => {
    expect(await senderAnswering(async () => json('400', '{"error":{"code":"invalid_json","message":"bad"}}'))(goodRequest())).toEqual({ status: 400, code: 'invalid_json' });
    expect((await senderAnswering(async () => json('400', '{"oops":1}'))(goodRequest())).violation).toBeDefined();
  });
});
