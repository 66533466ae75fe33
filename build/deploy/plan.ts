// Deploy plans: what `npm run deploy:<provider>` will do, step by step, from the built
// artifacts and the environment. A plan is data (printed as the dry run); `runPlan` executes
// it with the provider's own tool (vercel, netlify CLIs) or the AWS SDK (S3 upload, then a
// CloudFormation stack that publishes Lambda versions and associates them with CloudFront).
// Secrets are referenced by variable name in what is printed, never by value.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../pipeline.ts';

/** Providers `npm run deploy:<provider>` knows. */
export type DeployProvider = 'vercel' | 'netlify' | 'lambda-edge' | 'regional';

/** One step of a plan. */
export type DeployStep =
  | { kind: 'command'; description: string; argv: string[]; env: Record<string, string> }
  | { kind: 's3-upload'; description: string; region: string; bucket: string; key: string; file: string }
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

const DEFAULT_OUT: Record<DeployProvider, string> = { vercel: '.vercel/output', netlify: '.netlify/v1', 'lambda-edge': 'dist/lambda-edge', regional: 'dist/regional' };

function requireBuilt(provider: DeployProvider, dir: string, files: string[]): void {
  const absent = files.filter((f) => !existsSync(join(dir, f)));
  if (absent.length) throw new DeployError(`${provider}: ${absent.join(', ')} not found in ${dir}: run \`npm run build:${provider}\` first`);
}

function shortHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
}

function awsMissing(env: NodeJS.ProcessEnv): string[] {
  const missing: string[] = [];
  if (!env.EDGEINFER_DEPLOY_BUCKET) missing.push('EDGEINFER_DEPLOY_BUCKET (an S3 bucket for the zips)');
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
      // beside the current directory, hence cwd = the folder holding `.vercel`.
      return {
        provider,
        missing,
        steps: [
          {
            kind: 'command',
            description: `upload the prebuilt Build Output API tree ${dir} to Vercel (production)`,
            argv: ['npx', '--yes', 'vercel@58.10.0', 'deploy', '--prebuilt', '--prod', '--yes', '--token', '$VERCEL_TOKEN', '--cwd', resolve(dir, '../..')],
            env: { VERCEL_ORG_ID: '$VERCEL_ORG_ID', VERCEL_PROJECT_ID: '$VERCEL_PROJECT_ID' },
          },
        ],
      };
    }
    case 'netlify': {
      requireBuilt(provider, dir, ['edge-functions/edgeinfer.js']);
      const missing = ['NETLIFY_AUTH_TOKEN', 'NETLIFY_SITE_ID'].filter((name) => !env[name]);
      return {
        provider,
        missing,
        steps: [
          {
            kind: 'command',
            description: `deploy the edge function and the warm schedule in ${dir} (Netlify bundles them with its edge-bundler)`,
            argv: ['npx', '--yes', 'netlify-cli', 'deploy', '--prod', '--no-build', '--site', '$NETLIFY_SITE_ID', '--auth', '$NETLIFY_AUTH_TOKEN', '--cwd', resolve(dir, '../..')],
            env: {},
          },
        ],
      };
    }
    case 'lambda-edge': {
      requireBuilt(provider, dir, ['viewer-request.zip', 'origin-request.zip', 'template.json']);
      const bucket = env.EDGEINFER_DEPLOY_BUCKET ?? '$EDGEINFER_DEPLOY_BUCKET';
      const version = shortHash(join(dir, 'viewer-request.zip')).slice(0, 8) + shortHash(join(dir, 'origin-request.zip')).slice(0, 8);
      const prefix = `edgeinfer/lambda-edge/${version}/`;
      // Lambda@Edge functions must live in us-east-1, whatever AWS_REGION says.
      const region = 'us-east-1';
      return {
        provider,
        missing: awsMissing(env),
        steps: [
          ...['viewer-request.zip', 'origin-request.zip'].map((zip): DeployStep => ({ kind: 's3-upload', description: `upload ${zip}`, region, bucket, key: `${prefix}${zip}`, file: join(dir, zip) })),
          {
            kind: 'cloudformation',
            description: 'create or update the stack: role, both functions, new published versions, CloudFront distribution with the viewer-request and origin-request associations, warm schedule',
            region,
            stack: env.EDGEINFER_STACK_NAME ?? 'edgeinfer-edge',
            templateFile: join(dir, 'template.json'),
            parameters: { CodeBucket: bucket, CodePrefix: prefix, CodeVersion: version, ...(env.EDGEINFER_ADMIN_TOKEN ? { AdminToken: env.EDGEINFER_ADMIN_TOKEN } : {}) },
            secretParameters: ['AdminToken'],
          },
        ],
      };
    }
    case 'regional': {
      requireBuilt(provider, dir, ['regional.zip', 'template.json']);
      const bucket = env.EDGEINFER_DEPLOY_BUCKET ?? '$EDGEINFER_DEPLOY_BUCKET';
      const version = shortHash(join(dir, 'regional.zip'));
      const region = env.AWS_REGION ?? 'us-east-1';
      const key = `edgeinfer/regional/${version}/regional.zip`;
      return {
        provider,
        missing: awsMissing(env),
        steps: [
          { kind: 's3-upload', description: 'upload regional.zip', region, bucket, key, file: join(dir, 'regional.zip') },
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

function substitute(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/^\$([A-Z_]+)$/, (_, name: string) => env[name] ?? '');
}

/** Executes a plan; refuses, naming the variables, when some are missing. */
export async function runPlan(plan: DeployPlan, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  if (plan.missing.length) throw new DeployError(`deploy:${plan.provider} --yes needs ${plan.missing.join('; ')}`);
  for (const step of plan.steps) {
    log(`→ ${step.description}`);
    if (step.kind === 'command') {
      const childEnv = { ...env, ...Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, substitute(v, env)])) };
      const [command, ...args] = step.argv.map((a) => substitute(a, env));
      const code = await new Promise<number>((done) => spawn(command!, args, { stdio: 'inherit', env: childEnv }).once('exit', (c) => done(c ?? 1)));
      if (code !== 0) throw new DeployError(`${step.argv.slice(0, 4).join(' ')} … exited with ${code}`);
    } else if (step.kind === 's3-upload') {
      const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
      const s3 = new S3Client({ region: step.region });
      await s3.send(new PutObjectCommand({ Bucket: step.bucket, Key: step.key, Body: readFileSync(step.file) }));
    } else {
      const cfn = await import('@aws-sdk/client-cloudformation');
      const client = new cfn.CloudFormationClient({ region: step.region });
      const input = {
        StackName: step.stack,
        TemplateBody: readFileSync(step.templateFile, 'utf8'),
        Capabilities: [cfn.Capability.CAPABILITY_IAM],
        Parameters: Object.entries(step.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      };
      const exists = await client.send(new cfn.DescribeStacksCommand({ StackName: step.stack })).then(
        () => true,
        () => false,
      );
      if (exists) {
        await client.send(new cfn.UpdateStackCommand(input));
        await cfn.waitUntilStackUpdateComplete({ client, maxWaitTime: 3600 }, { StackName: step.stack });
      } else {
        await client.send(new cfn.CreateStackCommand(input));
        await cfn.waitUntilStackCreateComplete({ client, maxWaitTime: 3600 }, { StackName: step.stack });
      }
      const outputs = (await client.send(new cfn.DescribeStacksCommand({ StackName: step.stack }))).Stacks?.[0]?.Outputs ?? [];
      for (const o of outputs) log(`   ${o.OutputKey}: ${o.OutputValue}`);
    }
  }
}
