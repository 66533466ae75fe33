// The edge service's configuration from a plain variable map: bad values fail at creation
// naming the variable; the regional tier needs explicit AWS keys (no credential chain at the edge).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEdgeService } from '../../../adapters/edge/edge-service.ts';

const root = new URL('../../../models/spam-edge/1/', import.meta.url);
const files = {
  'spam-edge/1/model.json': new Uint8Array(readFileSync(new URL('model.json', root))),
  'spam-edge/1/model.onnx': new Uint8Array(readFileSync(new URL('model.onnx', root))),
};

describe('createEdgeService configuration', () => {
  it('names the AWS keys EDGEINFER_REGIONAL=lambda needs', () => {
    expect(() => createEdgeService({ files, microModules: {}, env: { EDGEINFER_REGIONAL: 'lambda', AWS_ACCESS_KEY_ID: 'x' } })).toThrow(
      'EDGEINFER_REGIONAL=lambda needs AWS_SECRET_ACCESS_KEY (edge runtimes have no AWS credential chain)',
    );
  });

  it('rejects a bad body limit and a bad cache policy, naming the variable', () => {
    expect(() => createEdgeService({ files, microModules: {}, env: { EDGEINFER_MAX_BODY_BYTES: 'lots' } })).toThrow('EDGEINFER_MAX_BODY_BYTES must be a positive integer, got "lots"');
    expect(() => createEdgeService({ files, microModules: {}, env: { EDGEINFER_CACHE_POLICY: 'sometimes' } })).toThrow('EDGEINFER_CACHE_POLICY must be one of');
  });

  it('without a micro module for the embedded model and without ORT, answers 503 naming the fix', async () => {
    const service = createEdgeService({ files, microModules: {}, env: {} });
    const response = await service.fetch(new Request('http://x/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' }));
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body.error.code).toBe('model_not_ready');
    expect(body.error.message).toContain('npm run build:micro');
  });
});
