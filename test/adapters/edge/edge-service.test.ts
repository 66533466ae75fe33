// The edge service's configuration from a plain variable map: bad values fail at creation
// naming the variable; the regional tier needs explicit AWS keys (no credential chain at the edge).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEdgeService, EDGE_ENV_VARS, regionalTierOptions } from '../../../adapters/edge/edge-service.ts';

const root = new URL('../../../models/spam-edge/1/', import.meta.url);
const files = {
  'spam-edge/1/model.json': new Uint8Array(readFileSync(new URL('model.json', root))),
  'spam-edge/1/model.onnx': new Uint8Array(readFileSync(new URL('model.onnx', root))),
};

describe('createEdgeService configuration', () => {
  it('names the AWS keys EDGEINFER_REGIONAL=lambda needs, under edge-side names', () => {
    expect(() => createEdgeService({ files, microModules: {}, env: { EDGEINFER_REGIONAL: 'lambda', EDGEINFER_AWS_ACCESS_KEY_ID: 'x' } })).toThrow(
      'EDGEINFER_REGIONAL=lambda needs EDGEINFER_AWS_SECRET_ACCESS_KEY (edge runtimes have no AWS credential chain)',
    );
  });

  // Vercel sets AWS_* in its functions' environment itself and Netlify reserves the names: the
  // edge reads only EDGEINFER_AWS_*, so the values a platform put there are never used as keys.
  it('ignores the platform-owned AWS_* names and says which names it reads', () => {
    const env = { EDGEINFER_REGIONAL: 'lambda', AWS_ACCESS_KEY_ID: 'ASIAVERCELSETTHIS', AWS_SECRET_ACCESS_KEY: 'platform', AWS_REGION: 'us-west-2' };
    expect(() => createEdgeService({ files, microModules: {}, env })).toThrow(/needs EDGEINFER_AWS_ACCESS_KEY_ID and EDGEINFER_AWS_SECRET_ACCESS_KEY .*AWS_ACCESS_KEY_ID is not read at the edge/);
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION']) expect(EDGE_ENV_VARS).not.toContain(name);
    const options = regionalTierOptions({ ...env, EDGEINFER_AWS_ACCESS_KEY_ID: 'AKIAEDGE', EDGEINFER_AWS_SECRET_ACCESS_KEY: 'edge-secret', EDGEINFER_AWS_REGION: 'eu-west-1' });
    expect(options).toMatchObject({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAEDGE', secretAccessKey: 'edge-secret' } });
  });

  // Provisioned concurrency and the warm schedule are on the `live` alias (regional template):
  // an unqualified invoke would run $LATEST, which neither keeps warm.
  it('escalates to the live alias unless EDGEINFER_REGIONAL_QUALIFIER says otherwise', () => {
    const keys = { EDGEINFER_REGIONAL: 'lambda', EDGEINFER_AWS_ACCESS_KEY_ID: 'a', EDGEINFER_AWS_SECRET_ACCESS_KEY: 'b' };
    expect(regionalTierOptions(keys)?.qualifier).toBe('live');
    expect(regionalTierOptions({ ...keys, EDGEINFER_REGIONAL_QUALIFIER: '7' })?.qualifier).toBe('7');
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
