// Deploy plans from real built artifacts: the dry run prints every step (commands, S3 keys
// by content hash, the stack and its parameters) without secret values; --yes without
// credentials refuses, naming the variables; an unbuilt target names the build command.
// --yes runs the real AWS SDK against a local S3 + CloudFormation (fake-aws.ts): a repeat
// deploy succeeds saying nothing changed, a changed zip publishes only its own function's
// version, stack states that cannot be updated and a bucket in the wrong region stop with
// a message saying what to do.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployError, filesHoldingSecrets, formatPlan, planDeploy, PROVIDER_CLIS, runPlan, stackStateAdvice } from '../../../build/deploy/plan.ts';
import { buildTarget, REPO_ROOT } from '../../../build/pipeline.ts';
import { lambdaEdgeTarget } from '../../../build/targets/lambda-edge.ts';
import { netlifyTarget } from '../../../build/targets/netlify.ts';
import { vercelTarget } from '../../../build/targets/vercel.ts';
import { startFakeAws, type FakeAws } from './fake-aws.ts';

const SECRET = 'do-not-print-this-token-9f3a';
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgeinfer-deploy-'));
  await buildTarget(vercelTarget, { outDir: join(root, '.vercel/output') });
  await buildTarget(lambdaEdgeTarget, { outDir: join(root, 'lambda-edge') });
  await buildTarget(netlifyTarget, { outDir: join(root, '.netlify/v1') });
}, 180_000);

describe('deploy plans', () => {
  it('vercel: `vercel deploy --prebuilt` from the folder holding .vercel, token by name only', () => {
    const plan = planDeploy('vercel', { VERCEL_TOKEN: SECRET, VERCEL_ORG_ID: 'team_1', VERCEL_PROJECT_ID: 'prj_1' }, join(root, '.vercel/output'));
    expect(plan.missing).toEqual([]);
    const text = formatPlan(plan);
    // The pinned devDependency from node_modules, never a download at deploy time.
    expect(text).toContain(`npx --no-install vercel deploy --prebuilt --prod --yes --token $VERCEL_TOKEN --cwd ${root}`);
    expect(text).not.toContain(SECRET);
  });

  it('lambda-edge: each zip to S3 under its own content hash, one us-east-1 stack, the admin token hidden', () => {
    const plan = planDeploy('lambda-edge', { EDGEINFER_DEPLOY_BUCKET: 'my-bucket', AWS_PROFILE: 'dev', AWS_REGION: 'eu-west-1', EDGEINFER_ADMIN_TOKEN: SECRET }, join(root, 'lambda-edge'));
    expect(plan.missing).toEqual([]);
    const [viewer, origin, stack] = plan.steps;
    expect(viewer).toMatchObject({ kind: 's3-upload', bucket: 'my-bucket', region: 'us-east-1' });
    expect((viewer as { key: string }).key).toMatch(/^edgeinfer\/lambda-edge\/viewer-request\/[0-9a-f]{16}\.zip$/);
    expect((origin as { key: string }).key).toMatch(/^edgeinfer\/lambda-edge\/origin-request\/[0-9a-f]{16}\.zip$/);
    expect(stack).toMatchObject({ kind: 'cloudformation', region: 'us-east-1', stack: 'edgeinfer-edge' });
    // One description (hash) per function version: a deploy where one zip changed publishes one version.
    const parameters = (stack as { parameters: Record<string, string> }).parameters;
    expect(parameters.ViewerRequestHash).not.toBe(parameters.OriginRequestHash);
    expect((viewer as { key: string }).key).toContain(parameters.ViewerRequestHash!);
    expect((stack as { parameters: Record<string, string> }).parameters.AdminToken).toBe(SECRET);
    const text = formatPlan(plan);
    expect(text).toContain('AdminToken=(set, not shown)');
    expect(text).not.toContain(SECRET);
  });

  it('--yes without credentials refuses, naming the variables', async () => {
    const plan = planDeploy('lambda-edge', {}, join(root, 'lambda-edge'));
    await expect(runPlan(plan, {}, () => {})).rejects.toThrow(
      'deploy:lambda-edge --yes needs EDGEINFER_EDGE_DEPLOY_BUCKET (an S3 bucket for the zips, in the stack\'s region; EDGEINFER_DEPLOY_BUCKET also works when one bucket serves); AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)',
    );
    const vercel = planDeploy('vercel', { VERCEL_TOKEN: SECRET }, join(root, '.vercel/output'));
    await expect(runPlan(vercel, {}, () => {})).rejects.toThrow('deploy:vercel --yes needs VERCEL_ORG_ID; VERCEL_PROJECT_ID');
  });

  it('an unbuilt target names the build to run', () => {
    expect(() => planDeploy('netlify', {}, join(root, 'nothing-here'))).toThrow(DeployError);
    expect(() => planDeploy('netlify', {}, join(root, 'nothing-here'))).toThrow('run `npm run build:netlify` first');
  });
});

describe('netlify: an explicit publish directory without build secrets', () => {
  it('passes --dir, a folder the build wrote holding one page, never the repository root', () => {
    const plan = planDeploy('netlify', { NETLIFY_AUTH_TOKEN: SECRET, NETLIFY_SITE_ID: 'site-1' }, join(root, '.netlify/v1'));
    const step = plan.steps[0] as { argv: string[]; publishDir: string };
    const dir = step.argv[step.argv.indexOf('--dir') + 1]!;
    expect(dir).toBe(join(root, '.netlify/edgeinfer-publish'));
    expect(step.publishDir).toBe(dir);
    expect(step.argv.slice(0, 3)).toEqual(['npx', '--yes', 'netlify-cli@26.2.0']);
    expect(filesHoldingSecrets(dir, { EDGEINFER_ADMIN_TOKEN: SECRET })).toEqual([]);
    expect(formatPlan(plan)).not.toContain(SECRET);
  });

  it('refuses to publish a directory that holds a secret value', async () => {
    const plan = planDeploy('netlify', { NETLIFY_AUTH_TOKEN: SECRET, NETLIFY_SITE_ID: 'site-1' }, join(root, '.netlify/v1'));
    const dir = (plan.steps[0] as { publishDir: string }).publishDir;
    writeFileSync(join(dir, 'leak.js'), `const token = "${SECRET}";`);
    try {
      await expect(runPlan(plan, { NETLIFY_AUTH_TOKEN: SECRET, NETLIFY_SITE_ID: 'site-1', EDGEINFER_ADMIN_TOKEN: SECRET }, () => {})).rejects.toThrow(/refusing to publish .*leak\.js \(EDGEINFER_ADMIN_TOKEN\)/);
    } finally {
      writeFileSync(join(dir, 'leak.js'), '');
    }
  });

  it('the CLIs deploy:<p> drives are pinned to exact versions whose engines take Node 20 (vercel a devDependency)', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies.vercel).toBe(PROVIDER_CLIS.vercel.version);
    const installed = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/vercel/package.json'), 'utf8')) as { version: string; engines: { node: string } };
    expect(installed.version).toBe('58.10.0');
    expect(installed.engines.node).toBe('>= 18');
    expect(PROVIDER_CLIS.netlify.argv.join(' ')).toBe(`npx --yes netlify-cli@${PROVIDER_CLIS.netlify.version}`);
    const node = process.versions.node.split('.').map(Number) as [number, number];
    expect(node[0] * 100 + node[1]).toBeGreaterThanOrEqual(2012); // netlify-cli 26.2.0: Node >= 20.12.2
  });
});

describe('stack states', () => {
  it('names what to do for each state that cannot be updated', () => {
    expect(stackStateAdvice('s', 'us-east-1', 'ROLLBACK_COMPLETE')).toMatchObject({ action: 'stop', message: expect.stringMatching(/ROLLBACK_COMPLETE: its creation failed .*delete-stack --stack-name s --region us-east-1/) });
    expect(stackStateAdvice('s', 'us-east-1', 'UPDATE_ROLLBACK_FAILED')).toMatchObject({ action: 'stop', message: expect.stringContaining('continue-update-rollback') });
    expect(stackStateAdvice('s', 'us-east-1', 'DELETE_FAILED')).toMatchObject({ action: 'stop', message: expect.stringContaining('replicas') });
    expect(stackStateAdvice('s', 'us-east-1', 'UPDATE_IN_PROGRESS')).toMatchObject({ action: 'stop', message: expect.stringContaining('another operation is running') });
    expect(stackStateAdvice('s', 'us-east-1', 'UPDATE_COMPLETE')).toEqual({ action: 'update' });
    expect(stackStateAdvice('s', 'us-east-1', 'UPDATE_ROLLBACK_COMPLETE')).toEqual({ action: 'update' });
  });
});

describe('deploy:lambda-edge --yes against a local S3 and CloudFormation (real AWS SDK)', () => {
  let aws: FakeAws;
  const saved = { ...process.env };
  beforeAll(async () => {
    aws = await startFakeAws();
    // The SDK's default credential chain reads these; the fake accepts any signature.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local-secret' });
    delete process.env.AWS_PROFILE;
  });
  afterAll(async () => {
    process.env = saved;
    await aws.close();
  });
  const env = () => ({ ...process.env, EDGEINFER_EDGE_DEPLOY_BUCKET: 'edge-code', EDGEINFER_STACK_NAME: 'edge-test' });
  const run = async (dir: string, e: NodeJS.ProcessEnv = env()) => {
    const lines: string[] = [];
    await runPlan(planDeploy('lambda-edge', e, dir), e, (l) => lines.push(l), { awsEndpoint: aws.url, pollSeconds: 1 });
    return lines;
  };

  it('first deploy creates; an unchanged redeploy succeeds and says nothing changed; one changed zip publishes one version', async () => {
    aws.buckets.set('edge-code', 'us-east-1');
    const dir = join(root, 'lambda-edge');
    const first = await run(dir);
    expect(first.some((l) => l.includes('0 problems'))).toBe(true);
    expect(aws.calls).toContain('CFN CreateStack');
    expect([...aws.objects.keys()].filter((k) => k.startsWith('edge-code/'))).toHaveLength(2);

    aws.calls.length = 0;
    const again = await run(dir);
    expect(again.filter((l) => l.includes('already uploaded'))).toHaveLength(2);
    expect(again).toContain('   stack edge-test: no changes (template and parameters as deployed), nothing to do');
    expect(aws.calls.filter((c) => c.startsWith('S3 PUT'))).toEqual([]);

    // Only the viewer zip changes: only its key and its version's description move.
    const changed = join(root, 'lambda-edge-changed');
    mkdirSync(changed, { recursive: true });
    for (const f of ['origin-request.zip', 'template.json']) copyFileSync(join(dir, f), join(changed, f));
    writeFileSync(join(changed, 'viewer-request.zip'), Buffer.concat([readFileSync(join(dir, 'viewer-request.zip')), Buffer.from([0])]));
    const before = aws.stacks.get('edge-test')!.parameters;
    aws.calls.length = 0;
    await run(changed);
    const after = aws.stacks.get('edge-test')!.parameters;
    expect(aws.calls.filter((c) => c.startsWith('S3 PUT'))).toHaveLength(1);
    const diff = after.split('&').filter((p) => !before.split('&').includes(p));
    expect(diff.join('&')).toMatch(/ParameterValue=edgeinfer%2Flambda-edge%2Fviewer-request|ParameterValue=edgeinfer\/lambda-edge\/viewer-request|ParameterValue=[0-9a-f]{16}/);
    expect(diff.join('&')).not.toContain('origin-request');
  });

  it('a ROLLBACK_COMPLETE stack stops the deploy with what to do, before anything is changed', async () => {
    aws.buckets.set('edge-code', 'us-east-1');
    aws.stacks.get('edge-test')!.status = 'ROLLBACK_COMPLETE';
    await expect(run(join(root, 'lambda-edge'))).rejects.toThrow(/edge-test \(us-east-1\) is ROLLBACK_COMPLETE.*delete-stack --stack-name edge-test --region us-east-1/);
    aws.stacks.get('edge-test')!.status = 'UPDATE_COMPLETE';
  });

  it('a code bucket outside the stack\'s region is a clear error, not a failed stack', async () => {
    aws.buckets.set('eu-code', 'eu-west-1');
    await expect(run(join(root, 'lambda-edge'), { ...env(), EDGEINFER_EDGE_DEPLOY_BUCKET: 'eu-code' })).rejects.toThrow(
      /bucket eu-code is in eu-west-1, but this stack's functions are in us-east-1 .*set EDGEINFER_EDGE_DEPLOY_BUCKET to a bucket in us-east-1/,
    );
    expect([...aws.objects.keys()].some((k) => k.startsWith('eu-code/'))).toBe(false);
  });

  it('regional and edge deploys take a bucket each (EDGEINFER_DEPLOY_BUCKET alone serves one region)', () => {
    const both = { EDGEINFER_DEPLOY_BUCKET: 'shared', EDGEINFER_EDGE_DEPLOY_BUCKET: 'edge-us', EDGEINFER_REGIONAL_DEPLOY_BUCKET: 'regional-eu', AWS_REGION: 'eu-west-1', AWS_PROFILE: 'p' };
    expect(planDeploy('lambda-edge', both, join(root, 'lambda-edge')).steps[0]).toMatchObject({ bucket: 'edge-us', region: 'us-east-1' });
  });
});
