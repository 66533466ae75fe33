// Vercel plan rules as data: the cron each tier gets is one the tier accepts (Hobby: daily only,
// "Cron expressions that would run more frequently will fail during deployment"), the edge size
// limits the size budget enforces are the plans' (MiB, after gzip), regions are checked by name.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTarget } from '../../../build/pipeline.ts';
import { SIZE_LIMITS } from '../../../build/size-budget.ts';
import { checkVercelCron, cronRunsPerDay, parseVercelRegions, VERCEL_PLANS } from '../../../build/targets/vercel-plans.ts';
import { vercelTarget, vercelWarmSchedule } from '../../../build/targets/vercel.ts';

describe('Vercel plans', () => {
  it('counts runs per day of cron expressions', () => {
    expect(cronRunsPerDay('*/5 * * * *')).toBe(288);
    expect(cronRunsPerDay('0 * * * *')).toBe(24);
    expect(cronRunsPerDay('0 21,9 * * *')).toBe(2);
    expect(cronRunsPerDay('0 6 * * *')).toBe(1);
    expect(cronRunsPerDay('30 1 * * 1-5')).toBe(1);
  });

  it('Hobby rejects more than one run a day (the */5 cron the build used to write); Pro and Enterprise take it', () => {
    expect(() => checkVercelCron('hobby', '*/5 * * * *')).toThrow('Vercel hobby: cron "*/5 * * * *" runs 288 times a day; hobby accounts are limited to daily cron jobs');
    expect(() => checkVercelCron('hobby', '0 21,9 * * *')).toThrow('runs 2 times a day');
    expect(() => checkVercelCron('pro', '*/5 * * * *')).not.toThrow();
    for (const tier of ['hobby', 'pro', 'enterprise'] as const) expect(() => checkVercelCron(tier, vercelWarmSchedule(tier))).not.toThrow();
    expect(vercelWarmSchedule('hobby')).toBe('0 6 * * *');
    expect(vercelWarmSchedule('pro')).toBe('*/5 * * * *');
  });

  it('the size budget enforces each plan\'s edge limit, in MiB after gzip', () => {
    for (const tier of ['hobby', 'pro', 'enterprise'] as const) {
      expect(SIZE_LIMITS.vercel[tier]).toEqual({ limitBytes: VERCEL_PLANS[tier].edgeGzipBytes, measure: 'gzip' });
    }
    expect(VERCEL_PLANS.hobby.edgeGzipBytes).toBe(1_048_576);
  });

  it('regions: known names pass, unknown ones are named', () => {
    expect(parseVercelRegions(undefined)).toBeUndefined();
    expect(parseVercelRegions('fra1, iad1')).toEqual(['fra1', 'iad1']);
    expect(() => parseVercelRegions('fra1,eu-west-1')).toThrow('EDGEINFER_VERCEL_REGIONS: eu-west-1 is not a Vercel region');
  });
});

it('a Pro build writes the */5 cron and the regions asked for into .vc-config.json', async () => {
  const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-vercel-plan-')), '.vercel/output');
  process.env.EDGEINFER_VERCEL_REGIONS = 'fra1,iad1';
  try {
    await buildTarget(vercelTarget, { outDir, tier: 'pro' });
  } finally {
    delete process.env.EDGEINFER_VERCEL_REGIONS;
  }
  expect(JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')).crons).toEqual([{ path: '/_warm', schedule: '*/5 * * * *' }]);
  expect(JSON.parse(readFileSync(join(outDir, 'functions/edgeinfer.func/.vc-config.json'), 'utf8')).regions).toEqual(['fra1', 'iad1']);
}, 120_000);
