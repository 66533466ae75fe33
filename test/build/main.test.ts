// `npm run build:<target>` as a command: Lambda@Edge configuration baked in from --env-file
// (names printed, values never; unknown variables ignored and named), and a clear exit 1
// when the tier cannot hold the build.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { strFromU8, unzipSync } from 'fflate';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/pipeline.ts';

const run = (args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'build/main.ts', ...args], { cwd: REPO_ROOT });

it('bakes the env file into the Lambda@Edge zips and prints only variable names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-main-'));
  const secret = 'baked-secret-7c1e';
  writeFileSync(join(dir, 'edge.env'), `# Lambda@Edge configuration\nEDGEINFER_ADMIN_TOKEN=${secret}\nEDGEINFER_MAX_BODY_BYTES="32768"\nHOME_PAGE=ignored\n`);
  const { stdout, stderr } = await run(['lambda-edge', '--env-file', join(dir, 'edge.env'), '--out', join(dir, 'out')]);
  expect(stdout).toContain('baked configuration: EDGEINFER_ADMIN_TOKEN, EDGEINFER_MAX_BODY_BYTES (ignored: HOME_PAGE)');
  expect(stdout + stderr).not.toContain(secret);
  expect(stdout).toMatch(/lambda-edge\s+viewer-request\s+[\d.]+ KB\s+[\d.]+ KB\s+[\d.]+ KB\s+default\s+1\.00 MB zip\s+yes/);
  const bundle = strFromU8(unzipSync(readFileSync(join(dir, 'out', 'viewer-request.zip')))['index.mjs']!);
  expect(bundle).toContain(secret);
  expect(bundle).toContain('EDGEINFER_MAX_BODY_BYTES:"32768"');
  expect(bundle).not.toContain('HOME_PAGE');
});

it('exits 1 naming the fix when the tier cannot hold the build', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-main-'));
  const failure = (await run(['vercel', '--engines', 'micro,ort-web', '--tier', 'pro', '--out', join(dir, 'out')]).catch((e: unknown) => e)) as { code: number; stderr: string; stdout: string };
  expect(failure.code).toBe(1);
  expect(failure.stdout).toMatch(/vercel\s+edgeinfer\s+.*pro\s+2\.00 MB gzip\s+NO/);
  expect(failure.stderr).toContain('over the 2.00 MB limit of tier "pro"');
  expect(failure.stderr).toContain('--tier enterprise');
});
