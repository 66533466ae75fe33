// Size budgets: the check against each provider tier, and a real build that cannot fit its
// tier (ORT on Vercel Hobby) failing with a message that names what to change, writing nothing.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTarget } from '../../build/pipeline.ts';
import { checkSize, formatSizeTable, SIZE_LIMITS, SizeBudgetError } from '../../build/size-budget.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';

describe('checkSize', () => {
  it('measures gzip for Vercel and the zip for Lambda, at the limit inclusive', () => {
    const MB = 1024 * 1024;
    expect(checkSize('vercel', 'fn', { rawBytes: 5 * MB, gzipBytes: MB }, 'hobby', SIZE_LIMITS.vercel.hobby).fits).toBe(true);
    expect(checkSize('vercel', 'fn', { rawBytes: 5 * MB, gzipBytes: MB + 1 }, 'hobby', SIZE_LIMITS.vercel.hobby).fits).toBe(false);
    expect(checkSize('vercel', 'fn', { rawBytes: 5 * MB, gzipBytes: MB + 1 }, 'pro', SIZE_LIMITS.vercel.pro).fits).toBe(true);
    // A zip just over 1 MB fails the viewer trigger even when its gzip would pass.
    const viewer = checkSize('lambda-edge', 'viewer-request', { rawBytes: 3 * MB, gzipBytes: MB - 10, zipBytes: MB + 10 }, 'default', SIZE_LIMITS['lambda-edge-viewer'].default);
    expect(viewer.fits).toBe(false);
    expect(formatSizeTable([viewer])).toMatch(/viewer-request\s+3\.00 MB\s+1024\.0 KB\s+1\.00 MB\s+default\s+1\.00 MB zip\s+NO/);
  });
});

describe('buildTarget with a tier that cannot hold the build', () => {
  it('fails ORT on Vercel Hobby naming the fix, and writes no output', async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-budget-')), '.vercel/output');
    const failure = await buildTarget(vercelTarget, { outDir, tier: 'hobby', engines: ['micro', 'ort-web'] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SizeBudgetError);
    const message = (failure as Error).message;
    expect(message).toMatch(/^vercel\/edgeinfer is 3\.\d\d MB gzip, over the 1\.00 MB limit of tier "hobby": /);
    expect(message).toContain('drop --engines ort-web');
    expect(message).toContain('--tier enterprise');
    expect(existsSync(outDir)).toBe(false);
  });

  it('rejects a tier the provider does not have', async () => {
    await expect(buildTarget(vercelTarget, { outDir: mkdtempSync(join(tmpdir(), 'edgeinfer-budget-')), tier: 'gold' })).rejects.toThrow(
      '--tier must be one of hobby, pro, enterprise for vercel, got "gold"',
    );
  });
});
