// Lambda@Edge target: two zips and a CloudFormation template (us-east-1).
//   viewer-request.zip  micro engine only, the edge models embedded (≤ 1 MB zipped)
//   origin-request.zip  the same plus onnxruntime-web and its WASM for models micro cannot run (≤ 50 MB)
//   template.json       role trusted by lambda.amazonaws.com and edgelambda.amazonaws.com, both
//                       functions with published versions, a CloudFront distribution associating
//                       them (viewer-request on the default behaviour, origin-request on /v2/*,
//                       bodies included), and an EventBridge schedule calling /_warm.
// Lambda@Edge has no environment variables: configuration is baked in from --env-file.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-restrictions.html
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLOUDFRONT_BODY_LIMITS, ORIGIN_REQUEST_WARM_PATH } from '../../adapters/lambda-edge/lambda-edge.ts';
import { US_EAST_1_RULE } from '../deploy/validate-template.ts';
import { readOrtWasmBinary } from '../../adapters/node/ort-wasm-binary.ts';
import { ORT_WEB_WASM_FILE } from '../../core/engine/ort-web/ort-web-engine.ts';
import type { BuildTarget, EntryImports, FunctionSpec } from '../pipeline.ts';
import { modelsForBuild } from '../model-tools/build-models.ts';


// The body limit baked in by default is what CloudFront exposes to the trigger (more arrives
// truncated and is answered 413); an --env-file EDGEINFER_MAX_BODY_BYTES overrides it.
function entry(i: EntryImports, trigger: 'viewer-request' | 'origin-request', ort: boolean): string {
  return `
import { createEdgeService } from ${i.repo('adapters/edge/edge-service.ts')};
import { createLambdaEdgeHandler } from ${i.repo('adapters/lambda-edge/lambda-edge.ts')};
import { files } from ${i.models};
import { microModules, microCompileFailures } from ${i.micro};
${ort ? `import { readFile } from 'node:fs/promises';\nimport { createOrtWebEngine } from ${i.repo('core/engine/ort-web/ort-web-engine.ts')};` : ''}
const service = createEdgeService({
  files, microModules, microCompileFailures,
  ${ort ? `ortWeb: async () => createOrtWebEngine({ wasmBinary: new Uint8Array(await readFile(new URL('./${ORT_WEB_WASM_FILE}', import.meta.url))) }),` : ''}
  env: { EDGEINFER_MAX_BODY_BYTES: '${CLOUDFRONT_BODY_LIMITS[trigger]}', ...__EDGEINFER_BAKED_ENV__ },
});
export const handler = createLambdaEdgeHandler(service, { trigger: ${JSON.stringify(trigger)} });
`;
}

/** The managed CloudFront policies the behaviours use, by id (CloudFormation takes ids, not names). */
export const CLOUDFRONT_MANAGED_POLICIES = {
  // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
  // Every answer is computed per request (and cached by our own two-level cache): nothing in CloudFront's cache.
  CachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
  // All viewer headers, cookies and query strings except Host. Without an origin request policy
  // (and a cache policy that forwards nothing) CloudFront passes an origin-request trigger only
  // the headers it adds itself: no Content-Type, Authorization or x-api-key, so POST /v2/… was 415.
  AllViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
} as const;

/** Path the EventBridge warm schedule calls to reach the origin-request function (its own behaviour). */
export const ORIGIN_WARM_PATH = ORIGIN_REQUEST_WARM_PATH;

/** The CloudFront behaviours: path pattern → trigger (the default behaviour is `*`). */
export const LAMBDA_EDGE_BEHAVIOURS = [
  { pathPattern: ORIGIN_WARM_PATH, trigger: 'origin-request' },
  { pathPattern: '/v2/*', trigger: 'origin-request' },
  { pathPattern: '*', trigger: 'viewer-request' },
] as const;

/** Memory and timeout of each function, within the Lambda@Edge limits of its trigger (LAMBDA_EDGE_LIMITS). */
export const LAMBDA_EDGE_SIZING = { 'viewer-request': { memory: 128, timeout: 5 }, 'origin-request': { memory: 1024, timeout: 30 } } as const;

/**
 * The CloudFormation template of the two functions and their distribution.
 *
 * Redeploys: each function's code key and version description carry that zip's own hash, so
 * a deploy where one zip changed publishes one new version (a shared hash made CloudFormation
 * publish both, and Lambda refuses a version of unchanged code: "A version for this Lambda
 * function exists"). Functions and versions are Retain: CloudFront's replicas keep a replaced
 * version undeletable for hours ("You can delete a Lambda@Edge function only when the replicas
 * of the function have been deleted by CloudFront", lambda-edge-delete-replicas.html), which
 * otherwise fails the update's cleanup and any stack deletion.
 */
export function lambdaEdgeTemplate(): object {
  const retain = { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' };
  const fn = (trigger: keyof typeof LAMBDA_EDGE_SIZING, key: string) => ({
    Type: 'AWS::Lambda::Function',
    ...retain,
    Properties: {
      // nodejs20.x stopped accepting new functions in June 2026 (AWS Lambda runtime deprecation table).
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: { 'Fn::GetAtt': ['EdgeFunctionRole', 'Arn'] },
      MemorySize: LAMBDA_EDGE_SIZING[trigger].memory,
      Timeout: LAMBDA_EDGE_SIZING[trigger].timeout,
      Code: { S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: key } },
    },
  });
  const version = (fnId: string, hash: string, trigger: string) => ({
    Type: 'AWS::Lambda::Version',
    ...retain,
    Properties: { FunctionName: { Ref: fnId }, Description: { 'Fn::Sub': `${trigger} \${${hash}}` } },
  });
  const association = (event: string, versionId: string) => ({ EventType: event, IncludeBody: true, LambdaFunctionARN: { Ref: versionId } });
  const behaviour = {
    TargetOriginId: 'unused-origin',
    ViewerProtocolPolicy: 'https-only',
    AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
    CachePolicyId: CLOUDFRONT_MANAGED_POLICIES.CachingDisabled,
    OriginRequestPolicyId: CLOUDFRONT_MANAGED_POLICIES.AllViewerExceptHostHeader,
  };
  const versionOf = { 'viewer-request': 'ViewerRequestVersion', 'origin-request': 'OriginRequestVersion' } as const;
  const warmTarget = (id: string, destination: string) => ({ Id: id, Arn: { 'Fn::GetAtt': [destination, 'Arn'] }, RoleArn: { 'Fn::GetAtt': ['WarmRole', 'Arn'] } });
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'edgeinfer on Lambda@Edge (deploy in us-east-1: Lambda@Edge functions must live there)',
    Parameters: {
      CodeBucket: { Type: 'String', Description: 'S3 bucket in us-east-1 holding the two zips' },
      ViewerRequestKey: { Type: 'String', Description: 'S3 key of viewer-request.zip (carries its content hash)' },
      OriginRequestKey: { Type: 'String', Description: 'S3 key of origin-request.zip (carries its content hash)' },
      ViewerRequestHash: { Type: 'String', Default: 'initial', Description: 'content hash of viewer-request.zip: a new value publishes a new viewer-request version' },
      OriginRequestHash: { Type: 'String', Default: 'initial', Description: 'content hash of origin-request.zip: a new value publishes a new origin-request version' },
      AdminToken: { Type: 'String', NoEcho: true, Default: '', Description: 'the EDGEINFER_ADMIN_TOKEN baked into the zips; empty disables the warm schedule' },
      WarmRate: { Type: 'String', Default: 'rate(5 minutes)', Description: 'EventBridge schedule expression of the warm pings' },
    },
    // A stack created in any other region fails here, before anything is created.
    Rules: { LambdaEdgeRegion: US_EAST_1_RULE },
    Conditions: { Warm: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AdminToken' }, ''] }] } },
    Resources: {
      EdgeFunctionRole: {
        Type: 'AWS::IAM::Role',
        // Retained with the functions it executes: a replica still running needs its role.
        ...retain,
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com', 'edgelambda.amazonaws.com'] }, Action: 'sts:AssumeRole' }],
          },
          ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
      },
      ViewerRequestFunction: fn('viewer-request', 'ViewerRequestKey'),
      ViewerRequestVersion: version('ViewerRequestFunction', 'ViewerRequestHash', 'viewer-request'),
      OriginRequestFunction: fn('origin-request', 'OriginRequestKey'),
      OriginRequestVersion: version('OriginRequestFunction', 'OriginRequestHash', 'origin-request'),
      Distribution: {
        Type: 'AWS::CloudFront::Distribution',
        Properties: {
          DistributionConfig: {
            Enabled: true,
            Comment: 'edgeinfer',
            // Both functions answer every request themselves: the origin is never contacted.
            Origins: [{ Id: 'unused-origin', DomainName: 'example.com', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } }],
            DefaultCacheBehavior: { ...behaviour, LambdaFunctionAssociations: [association('viewer-request', versionOf['viewer-request'])] },
            CacheBehaviors: LAMBDA_EDGE_BEHAVIOURS.filter((b) => b.pathPattern !== '*').map((b) => ({
              ...behaviour,
              PathPattern: b.pathPattern,
              LambdaFunctionAssociations: [association(b.trigger, versionOf[b.trigger])],
            })),
          },
        },
      },
      WarmConnection: {
        Type: 'AWS::Events::Connection',
        Condition: 'Warm',
        Properties: { AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'Authorization', ApiKeyValue: { 'Fn::Sub': 'Bearer ${AdminToken}' } } } },
      },
      // One destination per trigger: /_warm runs on the viewer-request function (default
      // behaviour), ORIGIN_WARM_PATH on the origin-request one (its own behaviour).
      WarmDestination: {
        Type: 'AWS::Events::ApiDestination',
        Condition: 'Warm',
        Properties: { ConnectionArn: { 'Fn::GetAtt': ['WarmConnection', 'Arn'] }, HttpMethod: 'GET', InvocationEndpoint: { 'Fn::Sub': 'https://${Distribution.DomainName}/_warm' } },
      },
      WarmOriginDestination: {
        Type: 'AWS::Events::ApiDestination',
        Condition: 'Warm',
        Properties: { ConnectionArn: { 'Fn::GetAtt': ['WarmConnection', 'Arn'] }, HttpMethod: 'GET', InvocationEndpoint: { 'Fn::Sub': `https://\${Distribution.DomainName}${ORIGIN_WARM_PATH}` } },
      },
      WarmRole: {
        Type: 'AWS::IAM::Role',
        Condition: 'Warm',
        Properties: {
          AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
          Policies: [
            {
              PolicyName: 'invoke-warm-destinations',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'events:InvokeApiDestination', Resource: [{ 'Fn::GetAtt': ['WarmDestination', 'Arn'] }, { 'Fn::GetAtt': ['WarmOriginDestination', 'Arn'] }] }],
              },
            },
          ],
        },
      },
      // EventBridge calls from us-east-1: each ping reaches the one CloudFront location nearest
      // to it (README: what each schedule warms). `npm run warm` covers other locations.
      WarmSchedule: {
        Type: 'AWS::Events::Rule',
        Condition: 'Warm',
        Properties: {
          ScheduleExpression: { Ref: 'WarmRate' },
          Targets: [warmTarget('warm-viewer-request', 'WarmDestination'), warmTarget('warm-origin-request', 'WarmOriginDestination')],
        },
      },
    },
    Outputs: {
      DistributionDomainName: { Value: { 'Fn::GetAtt': ['Distribution', 'DomainName'] } },
      ViewerRequestVersionArn: { Value: { Ref: 'ViewerRequestVersion' } },
      OriginRequestVersionArn: { Value: { Ref: 'OriginRequestVersion' } },
    },
  };
}

export const lambdaEdgeTarget: BuildTarget = {
  name: 'lambda-edge',
  defaultOut: 'dist/lambda-edge',
  tiers: ['default'],
  defaultTier: 'default',
  functions: (options): FunctionSpec[] => [
    { name: 'viewer-request', file: 'index.mjs', models: modelsForBuild(options, 'edge'), engines: ['micro'], budget: 'lambda-edge-viewer', zip: true, entry: (i) => entry(i, 'viewer-request', false) },
    {
      name: 'origin-request',
      file: 'index.mjs',
      models: modelsForBuild(options, 'edge'),
      engines: ['micro', 'ort-web'],
      budget: 'lambda-edge-origin',
      zip: true,
      entry: (i) => entry(i, 'origin-request', true),
      extraFiles: async () => ({ [ORT_WEB_WASM_FILE]: await readOrtWasmBinary() }),
    },
  ],
  async write(outDir, built) {
    for (const fn of built) await writeFile(join(outDir, `${fn.spec.name}.zip`), fn.zip!);
    await writeFile(join(outDir, 'template.json'), `${JSON.stringify(lambdaEdgeTemplate(), null, 2)}\n`);
    return [...built.map((fn) => `${fn.spec.name}.zip`), 'template.json'];
  },
  advice: (fn) =>
    fn.name === 'viewer-request'
      ? 'the viewer-request zip must stay under 1 MB: embed fewer or smaller (int8) edge models; larger ones belong on the origin-request function'
      : 'the origin-request zip must stay under 50 MB: move the large model to the regional function',
};
