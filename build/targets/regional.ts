// Regional AWS Lambda target: the escalation function (adapters/aws-lambda/regional-entry.ts)
// bundled for Node, with onnxruntime-node's Linux x64 CPU binaries and the regional models
// in one zip, plus a CloudFormation template (published version, a `live` alias, provisioned
// concurrency as an option, an EventBridge schedule that keeps one container warm).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FsModelSource } from '../../adapters/node/fs-model-source.ts';
import { latestVersions } from '../../core/model/repository.ts';
import { REPO_ROOT, type BuildTarget } from '../pipeline.ts';
import { modelsForBuild, repositoryModels } from '../model-tools/build-models.ts';

async function filesUnder(dir: string, prefix: string, keep: (path: string) => boolean = () => true): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const rel = relative(dir, full).split('\\').join('/');
    if (keep(rel)) out[`${prefix}${rel}`] = new Uint8Array(await readFile(full));
  }
  return out;
}

/** The payload the warm schedule sends: a real prediction on a one-line message, for the first served model that reads text (a regional request carries text). */
export function regionalWarmEvent(model: string): object {
  return { model, text: 'Subject: warmup', requestId: 'eventbridge-warm', deadlineMs: 4_102_444_800_000 };
}

/** The regional function's CloudFormation template; `models` (the ones the zip carries) load at init, `warmModel` answers the warm schedule. */
export function regionalTemplate(models: readonly string[], warmModel: string = models[0] ?? ''): object {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'edgeinfer regional escalation function (onnxruntime-node on CPU: AWS Lambda has no GPU)',
    Parameters: {
      CodeBucket: { Type: 'String' },
      CodeKey: { Type: 'String', Default: 'regional.zip' },
      MemorySize: { Type: 'Number', Default: 2048 },
      ProvisionedConcurrency: { Type: 'Number', Default: 0, Description: 'containers kept initialised on the live alias (0 = none)' },
      // Not "WarmSchedule": that is the rule's logical id, and CloudFormation wants parameter and
      // resource ids unique across the template (parameters-section-structure.html).
      WarmRate: { Type: 'String', Default: 'rate(5 minutes)', Description: 'EventBridge schedule expression of the warm invocation' },
      CodeVersion: { Type: 'String', Default: 'initial', Description: 'content hash of the zip: a new value publishes a new version' },
    },
    Conditions: { Provisioned: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ProvisionedConcurrency' }, 0] }] } },
    Resources: {
      RegionalRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
          ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
      },
      RegionalFunction: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          FunctionName: 'edgeinfer-regional',
          // nodejs20.x stopped accepting new functions in June 2026 (AWS Lambda runtime deprecation table).
          Runtime: 'nodejs22.x',
          Architectures: ['x86_64'],
          Handler: 'index.handler',
          Role: { 'Fn::GetAtt': ['RegionalRole', 'Arn'] },
          MemorySize: { Ref: 'MemorySize' },
          Timeout: 30,
          Code: { S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: 'CodeKey' } },
          Environment: { Variables: { EDGEINFER_MODELS_DIR: '/var/task/models', EDGEINFER_PRELOAD: models.join(',') } },
        },
      },
      RegionalVersion: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'RegionalFunction' }, Description: { Ref: 'CodeVersion' } } },
      RegionalAlias: {
        Type: 'AWS::Lambda::Alias',
        Properties: {
          FunctionName: { Ref: 'RegionalFunction' },
          FunctionVersion: { 'Fn::GetAtt': ['RegionalVersion', 'Version'] },
          Name: 'live',
          ProvisionedConcurrencyConfig: { 'Fn::If': ['Provisioned', { ProvisionedConcurrentExecutions: { Ref: 'ProvisionedConcurrency' } }, { Ref: 'AWS::NoValue' }] },
        },
      },
      // A scheduled real (tiny) prediction keeps one container initialised and its session
      // warm; the far deadline is capped by the function's own timeout.
      WarmSchedule: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: { Ref: 'WarmRate' }, Targets: [{ Id: 'warm', Arn: { Ref: 'RegionalAlias' }, Input: JSON.stringify(regionalWarmEvent(warmModel)) }] },
      },
      WarmPermission: {
        Type: 'AWS::Lambda::Permission',
        Properties: { Action: 'lambda:InvokeFunction', FunctionName: { Ref: 'RegionalAlias' }, Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': ['WarmSchedule', 'Arn'] } },
      },
    },
    Outputs: { FunctionArn: { Value: { Ref: 'RegionalAlias' } } },
  };
}

export const regionalTarget: BuildTarget = {
  name: 'regional',
  defaultOut: 'dist/regional',
  tiers: ['default'],
  defaultTier: 'default',
  functions: (options) => {
    const served = modelsForBuild(options, 'regional');
    const root = options.modelsRoot ?? join(REPO_ROOT, 'models');
    return [
    {
      name: 'regional',
      file: 'index.mjs',
      models: [],
      modelsFromFiles: served,
      engines: [],
      budget: 'regional',
      zip: true,
      platform: 'node',
      external: ['onnxruntime-node'],
      entry: (i) => `export { handler } from ${i.repo('adapters/aws-lambda/regional-entry.ts')};`,
      extraFiles: async () => {
        const source = new FsModelSource(root);
        const versions = new Map((await latestVersions(source)).map((m) => [m.name, m.version]));
        const models: Record<string, Uint8Array> = {};
        for (const name of served) Object.assign(models, await filesUnder(join(root, name, versions.get(name)!), `models/${name}/${versions.get(name)}/`));
        const ortNode = join(REPO_ROOT, 'node_modules/onnxruntime-node');
        const ortCommon = join(REPO_ROOT, 'node_modules/onnxruntime-common');
        return {
          ...models,
          // Lambda runs Linux x64: the other platforms' binaries would only cost space.
          ...(await filesUnder(ortNode, 'node_modules/onnxruntime-node/', (p) => p === 'package.json' || (p.startsWith('dist/') && p.endsWith('.js')) || p.startsWith('bin/napi-v6/linux/x64/'))),
          ...(await filesUnder(ortCommon, 'node_modules/onnxruntime-common/', (p) => p === 'package.json' || (p.startsWith('dist/') && !p.endsWith('.map') && !p.endsWith('.ts')))),
        };
      },
    },
    ];
  },
  async write(outDir, built, options) {
    await writeFile(join(outDir, 'regional.zip'), built[0]!.zip!);
    const served = modelsForBuild(options, 'regional');
    const readsText = new Set(repositoryModels(options.modelsRoot ?? join(REPO_ROOT, 'models')).filter((m) => m.readsText).map((m) => m.name));
    const warmModel = served.find((name) => readsText.has(name)) ?? served[0];
    await writeFile(join(outDir, 'template.json'), `${JSON.stringify(regionalTemplate(served, warmModel), null, 2)}\n`);
    return ['regional.zip', 'template.json'];
  },
  advice: () => 'the regional zip must stay under 50 MB zipped: serve fewer models from it, or ship onnxruntime-node as a Lambda layer',
};
