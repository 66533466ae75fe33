// Deploy plans: what `npm run deploy:<provider>` will do, step by step, from the built
// artifacts and the environment. A plan is data (printed as the dry run); `runPlan` executes
// it with the provider's own tool (vercel, netlify CLIs, pinned devDependencies run from
// node_modules) or the AWS SDK (S3 upload, then a CloudFormation stack that publishes Lambda
// versions and associates them with CloudFront). Secrets are referenced by variable name in
// what is printed, never by value.
//
// On repeat it behaves like the providers' own tools: an unchanged redeploy succeeds and says
// nothing changed (zips already in S3 under their content hash are not uploaded again; the
// stack update CloudFormation answers "No updates are to be performed" is a success), and a
// stack in a state that cannot be updated gets a message saying what to do.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../pipeline.ts';
import { NETLIFY_PUBLISH_DIR } from '../targets/netlify.ts';
import { checkTemplate, formatIssues, specVersion } from './validate-template.ts';

/** Providers `npm run deploy:<provider>` knows. */
export type DeployProvider = 'vercel' | 'netlify' | 'lambda-edge' | 'regional';

/** One step of a plan. */
export type DeployStep =
  | { kind: 'command'; description: string; argv: string[]; env: Record<string, string>; publishDir?: string }
  | { kind: 's3-upload'; description: string; region: string; bucket: string; bucketVariable: string; key: string; file: string }
  | { kind: 'cloudformation'; description: string; region: string; stack: string; templateFile: string; parameters: Record<string, string>; secretParameters: string[] };

/** A plan, or why there can be none yet. */
export interface DeployPlan {
  provider: DeployProvider;
  steps: DeployStep[];
  /** Variables --yes needs that are not set (each names what it is for). */
  missing: string[];
}

/** Raised for anything the user must fix before deploying; the message says what. */
export class DeployError extends Error {
  override name = 'DeployError';
}

/**
 * The provider CLIs `deploy:<p>` drives, pinned to exact versions. Node versions they need
 * (their package.json `engines`): vercel 58.10.0 Node >= 18 (newer than 58.10.0 does not
 * install on this machine); netlify-cli 26.2.0 Node >= 20.12.2 (27.x needs Node >= 22.13,
 * above the project's Node 20).
 * vercel is a devDependency, run from node_modules/.bin. netlify-cli cannot be one: 26.2.0's
 * @netlify/build wants @opentelemetry/api ~1.8.0 as a peer while vitest wants ^1.9.0, so
 * `npm install -D netlify-cli@26.2.0` fails with ERESOLVE (measured here); it runs through
 * `npx --yes netlify-cli@26.2.0`, the same exact version every time (fetched once into npm's cache).
 */
export const PROVIDER_CLIS = {
  vercel: { argv: ['npx', '--no-install', 'vercel'], version: '58.10.0', node: '>= 18', devDependency: true },
  netlify: { argv: ['npx', '--yes', 'netlify-cli@26.2.0'], version: '26.2.0', node: '>= 20.12.2', devDependency: false },
} as const;

const DEFAULT_OUT: Record<DeployProvider, string> = { vercel: '.vercel/output', netlify: '.netlify/v1', 'lambda-edge': 'dist/lambda-edge', regional: 'dist/regional' };

/** Variables whose values must never be published (the Netlify publish directory is checked for them). */
export const SECRET_VARIABLES = ['EDGEINFER_ADMIN_TOKEN', 'EDGEINFER_SESSION_KEY', 'EDGEINFER_AWS_ACCESS_KEY_ID', 'EDGEINFER_AWS_SECRET_ACCESS_KEY', 'EDGEINFER_AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'UPSTASH_REDIS_REST_TOKEN', 'CRON_SECRET', 'NETLIFY_AUTH_TOKEN', 'VERCEL_TOKEN'];

function requireBuilt(provider: DeployProvider, dir: string, files: string[]): void {
  const absent = files.filter((f) => !existsSync(join(dir, f)));
  if (absent.length) throw new DeployError(`${provider}: ${absent.join(', ')} not found in ${dir}: run \`npm run build:${provider}\` first`);
  // A truncated or hand-edited JSON file is named here, in one line, before anything is uploaded.
  for (const f of files.filter((name) => name.endsWith('.json'))) {
    let problem: string | undefined;
    try {
      const value: unknown = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) problem = 'is not a JSON object';
    } catch (error) {
      problem = `is not valid JSON (${(error as Error).message})`;
    }
    if (problem) throw new DeployError(`${provider}: ${join(dir, f)} ${problem}: rebuild it with \`npm run build:${provider}\``);
  }
}

function shortHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
}

function awsMissing(env: NodeJS.ProcessEnv, bucketVariable: string): string[] {
  const missing: string[] = [];
  if (!env[bucketVariable] && !env.EDGEINFER_DEPLOY_BUCKET) missing.push(`${bucketVariable} (an S3 bucket for the zips, in the stack's region; EDGEINFER_DEPLOY_BUCKET also works when one bucket serves)`);
  if (!env.AWS_PROFILE && !(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)) missing.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)');
  return missing;
}

/** Builds the plan for a provider from its built output (`outDir`, default the build's) and `env`. */
export function planDeploy(provider: DeployProvider, env: NodeJS.ProcessEnv, outDir?: string): DeployPlan {
  const dir = resolve(REPO_ROOT, outDir ?? DEFAULT_OUT[provider]);
  switch (provider) {
    case 'vercel': {
      requireBuilt(provider, dir, ['config.json', 'functions/edgeinfer.func/.vc-config.json']);
      const missing = ['VERCEL_TOKEN', 'VERCEL_ORG_ID', 'VERCEL_PROJECT_ID'].filter((name) => !env[name]);
      // `vercel deploy --prebuilt` uploads .vercel/output as it is; it reads .vercel/output
      // beside the current directory, hence cwd = the folder holding `.vercel`. Vercel skips
      // files it already has (content-addressed upload), so a repeat uploads nothing new.
      return {
        provider,
        missing,
        steps: [
          {
            kind: 'command',
            description: `upload the prebuilt Build Output API tree ${dir} to Vercel (production)`,
            argv: [...PROVIDER_CLIS.vercel.argv, 'deploy', '--prebuilt', '--prod', '--yes', '--token', '$VERCEL_TOKEN', '--cwd', resolve(dir, '../..')],
            env: { VERCEL_ORG_ID: '$VERCEL_ORG_ID', VERCEL_PROJECT_ID: '$VERCEL_PROJECT_ID' },
          },
        ],
      };
    }
    case 'netlify': {
      requireBuilt(provider, dir, ['edge-functions/edgeinfer.js']);
      const missing = ['NETLIFY_AUTH_TOKEN', 'NETLIFY_SITE_ID'].filter((name) => !env[name]);
      const cwd = resolve(dir, '../..');
      // An explicit publish directory the build wrote (one page, nothing else): without --dir,
      // netlify deploy publishes the base directory, i.e. the repository with dist/ in it,
      // where a Lambda@Edge build holds its baked secrets. The edge and scheduled functions
      // come from the Frameworks API directory .netlify/v1 beside it.
      const publishDir = resolve(cwd, NETLIFY_PUBLISH_DIR);
      requireBuilt(provider, publishDir, ['index.html']);
      return {
        provider,
        missing,
        steps: [
          {
            kind: 'command',
            description: `deploy the edge function and the warm schedule in ${dir} (Netlify bundles them with its edge-bundler), publishing only ${publishDir}`,
            argv: [...PROVIDER_CLIS.netlify.argv, 'deploy', '--prod', '--no-build', '--dir', publishDir, '--site', '$NETLIFY_SITE_ID', '--auth', '$NETLIFY_AUTH_TOKEN', '--cwd', cwd],
            env: {},
            publishDir,
          },
        ],
      };
    }
    case 'lambda-edge': {
      requireBuilt(provider, dir, ['viewer-request.zip', 'origin-request.zip', 'template.json']);
      const bucketVariable = 'EDGEINFER_EDGE_DEPLOY_BUCKET';
      const bucket = env[bucketVariable] ?? env.EDGEINFER_DEPLOY_BUCKET ?? `$${bucketVariable}`;
      // Lambda@Edge functions must live in us-east-1, whatever AWS_REGION says, and Lambda
      // reads code only from a bucket in the function's region.
      const region = 'us-east-1';
      const zips = (['viewer-request', 'origin-request'] as const).map((name) => {
        const hash = shortHash(join(dir, `${name}.zip`));
        return { name, hash, key: `edgeinfer/lambda-edge/${name}/${hash}.zip` };
      });
      const [viewer, origin] = zips as [(typeof zips)[0], (typeof zips)[0]];
      return {
        provider,
        missing: awsMissing(env, bucketVariable),
        steps: [
          ...zips.map((z): DeployStep => ({ kind: 's3-upload', description: `upload ${z.name}.zip (skipped when that content is already there)`, region, bucket, bucketVariable, key: z.key, file: join(dir, `${z.name}.zip`) })),
          {
            kind: 'cloudformation',
            description: 'create or update the stack: role, both functions, a new published version of each function whose zip changed, CloudFront distribution with the viewer-request and origin-request associations, warm schedule',
            region,
            stack: env.EDGEINFER_STACK_NAME ?? 'edgeinfer-edge',
            templateFile: join(dir, 'template.json'),
            parameters: {
              CodeBucket: bucket,
              ViewerRequestKey: viewer.key,
              OriginRequestKey: origin.key,
              ViewerRequestHash: viewer.hash,
              OriginRequestHash: origin.hash,
              ...(env.EDGEINFER_ADMIN_TOKEN ? { AdminToken: env.EDGEINFER_ADMIN_TOKEN } : {}),
            },
            secretParameters: ['AdminToken'],
          },
        ],
      };
    }
    case 'regional': {
      requireBuilt(provider, dir, ['regional.zip', 'template.json']);
      const bucketVariable = 'EDGEINFER_REGIONAL_DEPLOY_BUCKET';
      const bucket = env[bucketVariable] ?? env.EDGEINFER_DEPLOY_BUCKET ?? `$${bucketVariable}`;
      const version = shortHash(join(dir, 'regional.zip'));
      const region = env.EDGEINFER_REGIONAL_REGION ?? env.AWS_REGION ?? 'us-east-1';
      const key = `edgeinfer/regional/${version}/regional.zip`;
      return {
        provider,
        missing: awsMissing(env, bucketVariable),
        steps: [
          { kind: 's3-upload', description: 'upload regional.zip (skipped when that content is already there)', region, bucket, bucketVariable, key, file: join(dir, 'regional.zip') },
          {
            kind: 'cloudformation',
            description: 'create or update the stack: role, function, new published version, `live` alias (provisioned concurrency when asked), warm schedule',
            region,
            stack: env.EDGEINFER_REGIONAL_STACK_NAME ?? 'edgeinfer-regional',
            templateFile: join(dir, 'template.json'),
            parameters: { CodeBucket: bucket, CodeKey: key, CodeVersion: version, ProvisionedConcurrency: env.EDGEINFER_PROVISIONED_CONCURRENCY ?? '0' },
            secretParameters: [],
          },
        ],
      };
    }
  }
}

/** The plan as printed by the dry run (secret values never appear). */
export function formatPlan(plan: DeployPlan): string {
  const lines = [`deploy:${plan.provider} — plan (dry run; add --yes to run it)`];
  plan.steps.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step.description}`);
    if (step.kind === 'command') lines.push(`     ${Object.entries(step.env).map(([k, v]) => `${k}=${v} `).join('')}${step.argv.join(' ')}`);
    if (step.kind === 's3-upload') lines.push(`     s3://${step.bucket}/${step.key} (${step.region}) ← ${step.file}`);
    if (step.kind === 'cloudformation') {
      const params = Object.entries(step.parameters).map(([k, v]) => `${k}=${step.secretParameters.includes(k) ? '(set, not shown)' : v}`);
      lines.push(`     stack ${step.stack} in ${step.region}, template ${step.templateFile}, CAPABILITY_IAM`, `     parameters: ${params.join(', ')}`);
    }
  });
  if (plan.missing.length) lines.push(`  to run it, set: ${plan.missing.join('; ')}`);
  return lines.join('\n');
}

/** Checks every template a plan deploys against the CloudFormation specification and the Lambda@Edge rules. */
export async function checkPlanTemplates(plan: DeployPlan): Promise<string[]> {
  const lines: string[] = [];
  for (const step of plan.steps) {
    if (step.kind !== 'cloudformation') continue;
    const issues = await checkTemplate(readFileSync(step.templateFile, 'utf8'));
    if (issues.length) throw new DeployError(`${step.templateFile}: ${issues.length} problem(s) against the CloudFormation specification (@aws-cdk/aws-service-spec ${specVersion()}):\n${formatIssues(issues)}`);
    lines.push(`template ${step.templateFile}: 0 problems (@aws-cdk/aws-service-spec ${specVersion()}${plan.provider === 'lambda-edge' ? ', Lambda@Edge rules' : ''})`);
  }
  return lines;
}

/** Files under `dir` that contain the value of a secret variable set in `env`. */
export function filesHoldingSecrets(dir: string, env: NodeJS.ProcessEnv): string[] {
  const secrets = SECRET_VARIABLES.map((name) => [name, env[name]] as const).filter((e): e is readonly [string, string] => typeof e[1] === 'string' && e[1].length >= 8);
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path).toString('latin1');
    for (const [name, value] of secrets) if (text.includes(value)) found.push(`${relative(dir, path)} (${name})`);
  }
  return found;
}

/** What a stack's status means for a deploy: go on, or the message to stop with. */
export function stackStateAdvice(stack: string, region: string, status: string): { action: 'create' | 'update' } | { action: 'stop'; message: string } {
  const cli = (cmd: string) => `aws cloudformation ${cmd} --stack-name ${stack} --region ${region}`;
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED') {
    return { action: 'stop', message: `stack ${stack} (${region}) is ${status}: its creation failed and it cannot be updated. Read why with \`${cli('describe-stack-events')}\`, fix that, delete it with \`${cli('delete-stack')}\` and deploy again.` };
  }
  if (status === 'DELETE_FAILED') {
    return { action: 'stop', message: `stack ${stack} (${region}) is DELETE_FAILED. For Lambda@Edge this is usually CloudFront still holding replicas of a function: they go within a few hours of the association's removal; retry \`${cli('delete-stack')}\` then (functions and versions are Retain, so they stay and can be deleted later).` };
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return { action: 'stop', message: `stack ${stack} (${region}) is UPDATE_ROLLBACK_FAILED: run \`${cli('continue-update-rollback')}\` (skipping the resources it names if needed), then deploy again.` };
  }
  if (status === 'DELETE_COMPLETE') return { action: 'create' };
  if (status.endsWith('_IN_PROGRESS')) {
    return { action: 'stop', message: `stack ${stack} (${region}) is ${status}: another operation is running on it. Wait for it to finish (\`${cli('wait stack-update-complete')}\` or watch the events), then deploy again.` };
  }
  if (status === 'REVIEW_IN_PROGRESS') return { action: 'create' };
  return { action: 'update' };
}

function substitute(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/^\$([A-Z_0-9]+)$/, (_, name: string) => env[name] ?? '');
}

/** Options of `runPlan`: an AWS endpoint (tests run the real SDK against a local S3/CloudFormation), waiter poll delay. */
export interface RunOptions {
  awsEndpoint?: string;
  pollSeconds?: number;
}

/** Executes a plan; refuses, naming the variables, when some are missing. */
export async function runPlan(plan: DeployPlan, env: NodeJS.ProcessEnv, log: (line: string) => void, options: RunOptions = {}): Promise<void> {
  if (plan.missing.length) throw new DeployError(`deploy:${plan.provider} --yes needs ${plan.missing.join('; ')}`);
  for (const line of await checkPlanTemplates(plan)) log(line);
  const aws = options.awsEndpoint ? { endpoint: options.awsEndpoint } : {};
  for (const step of plan.steps) {
    log(`→ ${step.description}`);
    if (step.kind === 'command') {
      if (step.publishDir) {
        const leaks = filesHoldingSecrets(step.publishDir, env);
        if (leaks.length) throw new DeployError(`refusing to publish ${step.publishDir}: it holds secret values (${leaks.join(', ')})`);
      }
      const childEnv = { ...env, ...Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, substitute(v, env)])) };
      const [command, ...args] = step.argv.map((a) => substitute(a, env));
      const code = await new Promise<number>((done) => spawn(command!, args, { stdio: 'inherit', env: childEnv, cwd: REPO_ROOT }).once('exit', (c) => done(c ?? 1)));
      if (code !== 0) throw new DeployError(`${step.argv.slice(0, 4).join(' ')} … exited with ${code}`);
    } else if (step.kind === 's3-upload') {
      await uploadOnce(step, log, aws);
    } else {
      await deployStack(step, log, { ...aws, pollSeconds: options.pollSeconds ?? 15 });
    }
  }
}

async function uploadOnce(step: Extract<DeployStep, { kind: 's3-upload' }>, log: (line: string) => void, aws: { endpoint?: string }): Promise<void> {
  const s3sdk = await import('@aws-sdk/client-s3');
  const s3 = new s3sdk.S3Client({ region: step.region, ...(aws.endpoint ? { endpoint: aws.endpoint, forcePathStyle: true } : {}) });
  // Lambda reads code only from a bucket in the function's own region: one bucket cannot
  // serve a us-east-1 Lambda@Edge stack and a regional stack elsewhere.
  const head = await s3.send(new s3sdk.HeadBucketCommand({ Bucket: step.bucket })).catch((error: Error & { $metadata?: { httpStatusCode?: number } }) => {
    throw new DeployError(`S3 bucket ${step.bucket} (${step.bucketVariable}) cannot be used: ${error.name} ${error.$metadata?.httpStatusCode ?? ''} ${error.message}`.trim());
  });
  const bucketRegion = head.BucketRegion ?? step.region;
  if (bucketRegion !== step.region) {
    throw new DeployError(
      `S3 bucket ${step.bucket} is in ${bucketRegion}, but this stack's functions are in ${step.region} and Lambda reads code only from a bucket in the function's region: set ${step.bucketVariable} to a bucket in ${step.region} (Lambda@Edge: us-east-1; regional: EDGEINFER_REGIONAL_REGION / AWS_REGION)`,
    );
  }
  const exists = await s3.send(new s3sdk.HeadObjectCommand({ Bucket: step.bucket, Key: step.key })).then(
    () => true,
    (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
      if (error.$metadata?.httpStatusCode === 404 || error.name === 'NotFound') return false;
      throw error;
    },
  );
  if (exists) return log(`   s3://${step.bucket}/${step.key}: already uploaded (same content hash), nothing to do`);
  await s3.send(new s3sdk.PutObjectCommand({ Bucket: step.bucket, Key: step.key, Body: readFileSync(step.file) }));
  log(`   s3://${step.bucket}/${step.key}: uploaded`);
}

async function deployStack(step: Extract<DeployStep, { kind: 'cloudformation' }>, log: (line: string) => void, options: { endpoint?: string; pollSeconds: number }): Promise<void> {
  const cfn = await import('@aws-sdk/client-cloudformation');
  const client = new cfn.CloudFormationClient({ region: step.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
  const input = {
    StackName: step.stack,
    TemplateBody: readFileSync(step.templateFile, 'utf8'),
    Capabilities: [cfn.Capability.CAPABILITY_IAM],
    Parameters: Object.entries(step.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
  };
  const status = await client.send(new cfn.DescribeStacksCommand({ StackName: step.stack })).then(
    (out) => out.Stacks?.[0]?.StackStatus as string | undefined,
    (error: Error) => {
      // DescribeStacks answers a ValidationError "Stack with id X does not exist" for a new stack.
      if (/does not exist/.test(error.message)) return undefined;
      throw error;
    },
  );
  const advice = status === undefined ? ({ action: 'create' } as const) : stackStateAdvice(step.stack, step.region, status);
  if (advice.action === 'stop') throw new DeployError(advice.message);
  const waiter = { client, maxWaitTime: 3600, minDelay: options.pollSeconds, maxDelay: Math.max(options.pollSeconds, 30) };
  try {
    if (advice.action === 'update') {
      try {
        await client.send(new cfn.UpdateStackCommand(input));
      } catch (error) {
        // CloudFormation's answer to an update that changes nothing: the deploy is already live.
        if ((error as Error).message.includes('No updates are to be performed')) {
          log(`   stack ${step.stack}: no changes (template and parameters as deployed), nothing to do`);
          return printOutputs();
        }
        throw error;
      }
      await cfn.waitUntilStackUpdateComplete(waiter, { StackName: step.stack });
    } else {
      await client.send(new cfn.CreateStackCommand(input));
      await cfn.waitUntilStackCreateComplete(waiter, { StackName: step.stack });
    }
  } catch (error) {
    if (error instanceof DeployError) throw error;
    throw new DeployError(`stack ${step.stack} (${step.region}) did not reach a complete state: ${(error as Error).message}${await failureReasons()}`);
  }
  await printOutputs();

  async function failureReasons(): Promise<string> {
    const events = await client.send(new cfn.DescribeStackEventsCommand({ StackName: step.stack })).catch(() => undefined);
    const failed = (events?.StackEvents ?? []).filter((e) => e.ResourceStatus?.endsWith('_FAILED')).slice(0, 5);
    return failed.length ? `\n${failed.map((e) => `   ${e.LogicalResourceId} ${e.ResourceStatus}: ${e.ResourceStatusReason}`).join('\n')}` : '';
  }
  async function printOutputs(): Promise<void> {
    const outputs = (await client.send(new cfn.DescribeStacksCommand({ StackName: step.stack }))).Stacks?.[0]?.Outputs ?? [];
    for (const o of outputs) log(`   ${o.OutputKey}: ${o.OutputValue}`);
  }
}
