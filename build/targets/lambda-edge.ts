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
import { CLOUDFRONT_BODY_LIMITS } from '../../adapters/lambda-edge/lambda-edge.ts';
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

/** The CloudFormation template of the two functions and their distribution. */
export function lambdaEdgeTemplate(): object {
  const fn = (zip: string, memory: number, timeout: number) => ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      // nodejs20.x stopped accepting new functions in June 2026 (AWS Lambda runtime deprecation table).
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: { 'Fn::GetAtt': ['EdgeFunctionRole', 'Arn'] },
      MemorySize: memory,
      Timeout: timeout,
      Code: { S3Bucket: { Ref: 'CodeBucket' }, S3Key: { 'Fn::Sub': `\${CodePrefix}${zip}` } },
    },
  });
  const association = (event: string, version: string) => ({ EventType: event, IncludeBody: true, LambdaFunctionARN: { Ref: version } });
  const behaviour = { TargetOriginId: 'unused-origin', ViewerProtocolPolicy: 'https-only', AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'], CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad' };
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'edgeinfer on Lambda@Edge (deploy in us-east-1: Lambda@Edge functions must live there)',
    Parameters: {
      CodeBucket: { Type: 'String', Description: 'S3 bucket (us-east-1) holding viewer-request.zip and origin-request.zip' },
      CodePrefix: { Type: 'String', Default: '', Description: 'key prefix of the zips in CodeBucket' },
      AdminToken: { Type: 'String', NoEcho: true, Default: '', Description: 'the EDGEINFER_ADMIN_TOKEN baked into the zips; empty disables the warm schedule' },
      WarmSchedule: { Type: 'String', Default: 'rate(5 minutes)' },
      CodeVersion: { Type: 'String', Default: 'initial', Description: 'content hash of the zips: a new value publishes new function versions' },
    },
    Conditions: { Warm: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AdminToken' }, ''] }] } },
    Resources: {
      EdgeFunctionRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com', 'edgelambda.amazonaws.com'] }, Action: 'sts:AssumeRole' }],
          },
          ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
      },
      ViewerRequestFunction: fn('viewer-request.zip', 128, 5),
      // Versions are immutable: a new Description (the code hash) makes CloudFormation publish
      // a new one, and the distribution's association follows it.
      ViewerRequestVersion: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'ViewerRequestFunction' }, Description: { Ref: 'CodeVersion' } } },
      OriginRequestFunction: fn('origin-request.zip', 1024, 30),
      OriginRequestVersion: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'OriginRequestFunction' }, Description: { Ref: 'CodeVersion' } } },
      Distribution: {
        Type: 'AWS::CloudFront::Distribution',
        Properties: {
          DistributionConfig: {
            Enabled: true,
            Comment: 'edgeinfer',
            // Both functions answer every request themselves: the origin is never contacted.
            Origins: [{ Id: 'unused-origin', DomainName: 'example.com', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } }],
            DefaultCacheBehavior: { ...behaviour, LambdaFunctionAssociations: [association('viewer-request', 'ViewerRequestVersion')] },
            CacheBehaviors: [{ ...behaviour, PathPattern: '/v2/*', LambdaFunctionAssociations: [association('origin-request', 'OriginRequestVersion')] }],
          },
        },
      },
      WarmConnection: {
        Type: 'AWS::Events::Connection',
        Condition: 'Warm',
        Properties: { AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'Authorization', ApiKeyValue: { 'Fn::Sub': 'Bearer ${AdminToken}' } } } },
      },
      WarmDestination: {
        Type: 'AWS::Events::ApiDestination',
        Condition: 'Warm',
        Properties: { ConnectionArn: { 'Fn::GetAtt': ['WarmConnection', 'Arn'] }, HttpMethod: 'GET', InvocationEndpoint: { 'Fn::Sub': 'https://${Distribution.DomainName}/_warm' } },
      },
      WarmRole: {
        Type: 'AWS::IAM::Role',
        Condition: 'Warm',
        Properties: {
          AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
          Policies: [{ PolicyName: 'invoke-warm-destination', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'events:InvokeApiDestination', Resource: { 'Fn::GetAtt': ['WarmDestination', 'Arn'] } }] } }],
        },
      },
      WarmSchedule: {
        Type: 'AWS::Events::Rule',
        Condition: 'Warm',
        Properties: {
          ScheduleExpression: { Ref: 'WarmSchedule' },
          Targets: [{ Id: 'warm', Arn: { 'Fn::GetAtt': ['WarmDestination', 'Arn'] }, RoleArn: { 'Fn::GetAtt': ['WarmRole', 'Arn'] } }],
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
