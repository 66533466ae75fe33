// Deploy plans from real built artifacts: the dry run prints every step (commands, S3 keys
// by content hash, the stack and its parameters) without secret values; --yes without
// credentials refuses, naming the variables; an unbuilt target names the build command.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeployError, formatPlan, planDeploy, runPlan } from '../../../build/deploy/plan.ts';
import { buildTarget } from '../../../build/pipeline.ts';
import { lambdaEdgeTarget } from '../../../build/targets/lambda-edge.ts';
import { vercelTarget } from '../../../build/targets/vercel.ts';

const SECRET = 'do-not-print-this-token-9f3a';
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgeinfer-deploy-'));
  await buildTarget(vercelTarget, { outDir: join(root, '.vercel/output') });
  await buildTarget(lambdaEdgeTarget, { outDir: join(root, 'lambda-edge') });
}, 120_000);

describe('deploy plans', () => {
  it('vercel: `vercel deploy --prebuilt` from the folder holding .vercel, token by name only', () => {
    const plan = planDeploy('vercel', { VERCEL_TOKEN: SECRET, VERCEL_ORG_ID: 'team_1', VERCEL_PROJECT_ID: 'prj_1' }, join(root, '.vercel/output'));
    expect(plan.missing).toEqual([]);
    const text = formatPlan(plan);
    expect(text).toContain(`vercel@58.10.0 deploy --prebuilt --prod --yes --token $VERCEL_TOKEN --cwd ${root}`);
    expect(text).not.toContain(SECRET);
  });

  it('lambda-edge: zips to S3 under a content hash, one us-east-1 stack, the admin token hidden', () => {
    const plan = planDeploy('lambda-edge', { EDGEINFER_DEPLOY_BUCKET: 'my-bucket', AWS_PROFILE: 'dev', AWS_REGION: 'eu-west-1', EDGEINFER_ADMIN_TOKEN: SECRET }, join(root, 'lambda-edge'));
    expect(plan.missing).toEqual([]);
    const [viewer, origin, stack] = plan.steps;
    expect(viewer).toMatchObject({ kind: 's3-upload', bucket: 'my-bucket', region: 'us-east-1' });
    expect((viewer as { key: string }).key).toMatch(/^edgeinfer\/lambda-edge\/[0-9a-f]{16}\/viewer-request\.zip$/);
    expect((origin as { key: string }).key.replace('origin', 'viewer')).toBe((viewer as { key: string }).key);
    expect(stack).toMatchObject({ kind: 'cloudformation', region: 'us-east-1', stack: 'edgeinfer-edge' });
    expect((stack as { parameters: Record<string, string> }).parameters.AdminToken).toBe(SECRET);
    const text = formatPlan(plan);
    expect(text).toContain('AdminToken=(set, not shown)');
    expect(text).not.toContain(SECRET);
  });

  it('--yes without credentials refuses, naming the variables', async () => {
    const plan = planDeploy('lambda-edge', {}, join(root, 'lambda-edge'));
    await expect(runPlan(plan, {}, () => {})).rejects.toThrow(
      'deploy:lambda-edge --yes needs EDGEINFER_DEPLOY_BUCKET (an S3 bucket for the zips); AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)',
    );
    const vercel = planDeploy('vercel', { VERCEL_TOKEN: SECRET }, join(root, '.vercel/output'));
    await expect(runPlan(vercel, {}, () => {})).rejects.toThrow('deploy:vercel --yes needs VERCEL_ORG_ID; VERCEL_PROJECT_ID');
  });

  it('an unbuilt target names the build to run', () => {
    expect(() => planDeploy('netlify', {}, join(root, 'nothing-here'))).toThrow(DeployError);
    expect(() => planDeploy('netlify', {}, join(root, 'nothing-here'))).toThrow('run `npm run build:netlify` first');
  });
});
