// Conformance of the Lambda@Edge build: both zips are built (configuration baked in, as
// Lambda@Edge has no environment variables), unpacked, and their handlers are invoked in
// Node with CloudFront viewer-request and origin-request events as the AWS docs describe
// them: lower-cased header lists, the body base64-encoded, truncated past what CloudFront
// exposes (40 KB viewer, 1 MB origin) with inputTruncated set.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from '../../../adapters/lambda-edge/lambda-edge.ts';
import { buildTarget, type BuildResult } from '../../../build/pipeline.ts';
import { lambdaEdgeTarget } from '../../../build/targets/lambda-edge.ts';
import { CONFORMANCE_ADMIN_TOKEN, defineConformanceSuite, defineOrtEngineCheck, goldenRequests, ortModelsRoot, type GoldenRequest, type Invoke } from '../conformance.ts';
import { behaviourFor, distributionEvent } from './cloudfront-distribution.ts';

type Handler = (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse>;
const EXPOSED_BODY = { 'viewer-request': 40 * 1024, 'origin-request': 1024 * 1024 } as const;

let built: Promise<{ result: BuildResult; dir: string }> | undefined;
function buildOnce(): Promise<{ result: BuildResult; dir: string }> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-lambda-edge-'));
    const result = await buildTarget(lambdaEdgeTarget, { outDir: join(dir, 'out'), baked: { EDGEINFER_ADMIN_TOKEN: CONFORMANCE_ADMIN_TOKEN } });
    return { result, dir };
  })();
  return built;
}

async function loadHandler(trigger: keyof typeof EXPOSED_BODY, build: () => Promise<{ dir: string }> = buildOnce): Promise<Handler> {
  const { dir } = await build();
  const target = join(dir, trigger);
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(join(dir, 'out', `${trigger}.zip`))))) {
    mkdirSync(dirname(join(target, name)), { recursive: true });
    writeFileSync(join(target, name), bytes);
  }
  return ((await import(pathToFileURL(join(target, 'index.mjs')).href)) as { handler: Handler }).handler;
}

/** The CloudFront event for a golden request (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html). */
export function cloudFrontEvent(request: GoldenRequest, eventType: keyof typeof EXPOSED_BODY): CloudFrontRequestEvent {
  const headers: CloudFrontRequestEvent['Records'][0]['cf']['request']['headers'] = { host: [{ key: 'Host', value: 'd111111abcdef8.cloudfront.net' }] };
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = [{ key: name, value }];
  const [uri, querystring = ''] = request.path.split('?') as [string, string?];
  const bytes = request.body === undefined ? undefined : Buffer.from(request.body);
  const limit = EXPOSED_BODY[eventType];
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType, requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==' },
          request: {
            clientIp: '203.0.113.178',
            method: request.method,
            uri,
            querystring,
            headers,
            ...(bytes ? { body: { inputTruncated: bytes.length > limit, action: 'read-only', encoding: 'base64' as const, data: bytes.subarray(0, limit).toString('base64') } } : {}),
          },
        },
      },
    ],
  };
}

function invokeWith(trigger: keyof typeof EXPOSED_BODY, build?: () => Promise<{ dir: string }>): () => Promise<{ invoke: Invoke }> {
  return async () => {
    const handler = await loadHandler(trigger, build);
    return {
      invoke: async (request) => {
        const result = await handler(cloudFrontEvent(request, trigger));
        expect(typeof result.status).toBe('string'); // CloudFront requires a string status
        const text = result.bodyEncoding === 'base64' ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
        const headers = Object.fromEntries(Object.entries(result.headers).map(([name, list]) => [name, list.map((h) => h.value).join(', ')]));
        return { status: Number(result.status), headers, body: JSON.parse(text) };
      },
    };
  };
}

defineConformanceSuite('lambda@edge viewer-request', invokeWith('viewer-request'));

// Through the distribution: each golden request goes to the function its path's behaviour names
// in the built template.json, with the headers CloudFront passes under that behaviour's cache and
// origin request policies (cloudfront-distribution.ts), not the viewer's headers verbatim.
async function throughDistribution(): Promise<{ invoke: Invoke; answer: (request: GoldenRequest, override?: Parameters<typeof distributionEvent>[3]) => Promise<{ status: number; function: string; body: any }> }> {
  const { dir } = await buildOnce();
  const template = JSON.parse(readFileSync(join(dir, 'out', 'template.json'), 'utf8'));
  const handlers = { 'viewer-request': await loadHandler('viewer-request'), 'origin-request': await loadHandler('origin-request') };
  const answer = async (request: GoldenRequest, override?: Parameters<typeof distributionEvent>[3]) => {
    const { behaviour, event } = distributionEvent(template, request, EXPOSED_BODY, override);
    const result = await handlers[behaviour.trigger](event);
    const text = result.bodyEncoding === 'base64' ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
    const headers = Object.fromEntries(Object.entries(result.headers).map(([name, list]) => [name, list.map((h) => h.value).join(', ')]));
    return { status: Number(result.status), function: headers['x-edgeinfer-function']!, headers, body: JSON.parse(text) };
  };
  return { answer, invoke: async (request) => answer(request) };
}
defineConformanceSuite('lambda@edge through the distribution (template behaviours, CloudFront headers)', throughDistribution);

describe('CloudFront behaviours and policies of the built template', () => {
  it('every route reaches the function its behaviour names; /v2/* and the origin warm path reach origin-request', async () => {
    const { dir } = await buildOnce();
    const template = JSON.parse(readFileSync(join(dir, 'out', 'template.json'), 'utf8'));
    const { answer } = await throughDistribution();
    for (const request of goldenRequests()) {
      const expected = request.path.startsWith('/v2/') ? 'origin-request' : 'viewer-request';
      expect(behaviourFor(template, request.path).trigger, request.path).toBe(expected);
      expect((await answer(request)).function, request.id).toBe(expected);
    }
    const warm = await answer({ id: 'warm-origin', method: 'GET', path: '/_warm/origin-request', headers: { authorization: `Bearer ${CONFORMANCE_ADMIN_TOKEN}` } });
    expect(warm.function).toBe('origin-request');
    expect(warm.status, JSON.stringify(warm.body).slice(0, 200)).toBe(200);
    expect(warm.body.warmed).toBe(true);
  });

  it('POST /v2/…/infer: 415 when the behaviour has no origin request policy (CloudFront passes no Content-Type), 200 under the template\'s', async () => {
    const { answer } = await throughDistribution();
    const infer = goldenRequests().find((r) => r.id === 'kserve-text')!;
    const without = await answer(infer, { originRequestPolicyId: undefined });
    expect(without.status).toBe(415);
    expect(without.body.error.code).toBe('unsupported_media_type');
    const withPolicy = await answer(infer);
    expect(withPolicy.status, JSON.stringify(withPolicy.body).slice(0, 200)).toBe(200);
  });
});
defineConformanceSuite('lambda@edge origin-request', invokeWith('origin-request'));
// The origin-request zip carries ORT and its WASM for models the micro engine cannot run.
defineOrtEngineCheck(
  'lambda@edge origin-request',
  invokeWith('origin-request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-lambda-edge-ort-'));
    await buildTarget(lambdaEdgeTarget, { outDir: join(dir, 'out'), modelsRoot: ortModelsRoot() });
    return { dir };
  }),
);

it('the viewer zip fits 1 MB without ORT; the template wires both triggers in us-east-1 terms', async () => {
  const { result, dir } = await buildOnce();
  const viewer = result.sizes.find((s) => s.artifact === 'viewer-request')!;
  expect(viewer.zipBytes).toBeLessThan(1024 * 1024);
  const viewerFiles = Object.keys(unzipSync(readFileSync(join(dir, 'out', 'viewer-request.zip'))));
  expect(viewerFiles).toEqual(['index.mjs']);
  // No ORT in it: its WASM glue would bring the Emscripten module and wasm file names.
  const viewerSource = readFileSync(join(dir, 'viewer-request', 'index.mjs'), 'utf8');
  expect(viewerSource).not.toContain('ort-wasm-simd-threaded');
  expect(viewerSource).not.toContain('InferenceSession');
  const template = JSON.parse(readFileSync(join(dir, 'out', 'template.json'), 'utf8'));
  const principals = template.Resources.EdgeFunctionRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service;
  expect(principals).toEqual(['lambda.amazonaws.com', 'edgelambda.amazonaws.com']);
  // Each version's description is its own zip's hash; versions and functions outlive CloudFront's replicas (Retain).
  expect(template.Resources.ViewerRequestVersion).toEqual({ Type: 'AWS::Lambda::Version', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { FunctionName: { Ref: 'ViewerRequestFunction' }, Description: { 'Fn::Sub': 'viewer-request ${ViewerRequestHash}' } } });
  expect(template.Resources.OriginRequestVersion.Properties.Description).toEqual({ 'Fn::Sub': 'origin-request ${OriginRequestHash}' });
  expect(template.Resources.ViewerRequestFunction.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', MemorySize: 128, Timeout: 5 });
  expect(template.Resources.OriginRequestFunction.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Timeout: 30 });
  // One warm target per trigger.
  expect(template.Resources.WarmSchedule.Properties.Targets.map((t: { Arn: unknown }) => t.Arn)).toEqual([{ 'Fn::GetAtt': ['WarmDestination', 'Arn'] }, { 'Fn::GetAtt': ['WarmOriginDestination', 'Arn'] }]);
  const config = template.Resources.Distribution.Properties.DistributionConfig;
  expect(config.DefaultCacheBehavior.LambdaFunctionAssociations).toEqual([{ EventType: 'viewer-request', IncludeBody: true, LambdaFunctionARN: { Ref: 'ViewerRequestVersion' } }]);
  expect(config.CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern)).toEqual(['/_warm/origin-request', '/v2/*']);
  for (const b of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
    expect(b).toMatchObject({ CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac' });
  }
  expect(config.CacheBehaviors[1].LambdaFunctionAssociations[0]).toEqual({ EventType: 'origin-request', IncludeBody: true, LambdaFunctionARN: { Ref: 'OriginRequestVersion' } });
  // Secrets are baked into the bundle, never into the template.
  expect(JSON.stringify(template)).not.toContain(CONFORMANCE_ADMIN_TOKEN);
});

// Body limits on the built zips: CloudFront exposes 40 KB to viewer-request and 1 MB to
// origin-request; each zip has that limit baked in, and a body CloudFront marked truncated
// is a 413, never parsed (a prefix of a message is text nobody sent).
describe('Lambda@Edge body limits (built zips)', () => {
  const message = (bytes: number) => JSON.stringify({ text: `Subject: lunch tomorrow?\n\n${'Sure, noon works for me. '.repeat(Math.ceil(bytes / 25))}`.slice(0, bytes) });
  const post = (body: string): GoldenRequest => ({ id: 'body', method: 'POST', path: '/v1/predict', headers: { 'content-type': 'application/json' }, body });
  const answer = async (handler: Handler, event: CloudFrontRequestEvent) => {
    const result = await handler(event);
    return { status: Number(result.status), body: JSON.parse(result.body) as { label?: string; error?: { code: string; message: string } } };
  };

  it('viewer-request: a 39 KB body is served; over 40 KB CloudFront truncates it and the answer is 413', async () => {
    const viewer = await loadHandler('viewer-request');
    const ok = await answer(viewer, cloudFrontEvent(post(message(39 * 1024)), 'viewer-request'));
    expect(ok.status, JSON.stringify(ok.body).slice(0, 200)).toBe(200);
    const over = await answer(viewer, cloudFrontEvent(post(message(45 * 1024)), 'viewer-request'));
    expect(over.status).toBe(413);
    expect(over.body.error!.code).toBe('payload_too_large');
    expect(over.body.error!.message).toMatch(/40 KB/);
  });

  it('viewer-request: a body marked inputTruncated is 413 even when its prefix is valid JSON', async () => {
    const viewer = await loadHandler('viewer-request');
    const event = cloudFrontEvent(post('{"text": "Subject: hi"}'), 'viewer-request');
    event.Records[0]!.cf.request.body!.inputTruncated = true;
    const result = await answer(viewer, event);
    expect(result.status).toBe(413);
    expect(result.body.error!.code).toBe('payload_too_large');
  });

  it('viewer-request: the baked 40 KB limit holds even for an untruncated larger body', async () => {
    const viewer = await loadHandler('viewer-request');
    const event = cloudFrontEvent(post(message(45 * 1024)), 'viewer-request');
    const body = Buffer.from(message(45 * 1024));
    event.Records[0]!.cf.request.body = { inputTruncated: false, action: 'read-only', encoding: 'base64', data: body.toString('base64') };
    const result = await answer(viewer, event);
    expect(result.status).toBe(413);
    expect(result.body.error!.message).toMatch(/40960 bytes/);
  });

  it('origin-request: a 200 KB body (over the 64 KB default elsewhere) is served under its 1 MB limit', async () => {
    const origin = await loadHandler('origin-request');
    const result = await answer(origin, cloudFrontEvent(post(message(200 * 1024)), 'origin-request'));
    expect(result.status, JSON.stringify(result.body).slice(0, 200)).toBe(200);
  });
});
