// Vercel plan rules as data: what each tier allows for what the Vercel build writes (crons,
// edge function size, regions), each with the page or source it was checked against.
// No account was at hand: these are the documented rules, checked at build time so a deploy
// never meets them as a rejection.

/** Bytes in a MiB: Vercel counts edge function sizes in MiB (vercel/vercel packages/next/src/constants.ts: `EDGE_FUNCTION_SIZE_LIMIT = 4 * MIB`, "the maximum size of a *compressed* edge function"). */
const MIB = 1024 * 1024;

export type VercelTier = 'hobby' | 'pro' | 'enterprise';

export interface VercelPlan {
  /** Smallest interval between two runs of one cron job, minutes (https://vercel.com/docs/cron-jobs/usage-and-pricing). */
  cronMinIntervalMinutes: number;
  /** Cron jobs per project (same page: 100 on every plan). */
  cronJobsPerProject: number;
  /** How precisely a cron fires (same page: Hobby "Hourly (±59 min)"). */
  cronPrecision: string;
  /** The warm schedule the build writes for this tier. */
  warmSchedule: string;
  /** Edge function size limit after gzip, bytes (https://vercel.com/docs/functions/limitations: Hobby 1 MB, Pro 2 MB, Enterprise 4 MB; MiB per the source above). */
  edgeGzipBytes: number;
}

export const VERCEL_PLANS: Record<VercelTier, VercelPlan> = {
  // "Hobby accounts are limited to cron jobs that run once per day. Cron expressions that would
  // run more frequently will fail during deployment." Once a day keeps one region's isolate
  // warm for minutes, not for the day: the warm cron on Hobby is a daily health probe, and
  // warming proper comes from `npm run warm` (or an external scheduler) against /_warm.
  hobby: { cronMinIntervalMinutes: 24 * 60, cronJobsPerProject: 100, cronPrecision: 'hourly (±59 min)', warmSchedule: '0 6 * * *', edgeGzipBytes: 1 * MIB },
  pro: { cronMinIntervalMinutes: 1, cronJobsPerProject: 100, cronPrecision: 'per minute', warmSchedule: '*/5 * * * *', edgeGzipBytes: 2 * MIB },
  enterprise: { cronMinIntervalMinutes: 1, cronJobsPerProject: 100, cronPrecision: 'per minute', warmSchedule: '*/5 * * * *', edgeGzipBytes: 4 * MIB },
};

/**
 * Vercel's compute regions (https://vercel.com/docs/regions, region list; yul1 per the changelog
 * "Introducing the Montréal, Canada region"). `.vc-config.json` of an edge function takes
 * `regions: string | string[]` (@vercel/build-utils dist/edge-function.d.ts, `EdgeFunction.regions`);
 * without it an edge function runs in every region, nearest the viewer.
 */
export const VERCEL_REGIONS = ['arn1', 'bom1', 'cdg1', 'cle1', 'cpt1', 'dub1', 'fra1', 'gru1', 'hkg1', 'hnd1', 'iad1', 'icn1', 'kix1', 'lhr1', 'pdx1', 'sfo1', 'sin1', 'syd1', 'yul1'] as const;

/** Parses a comma list of Vercel regions (EDGEINFER_VERCEL_REGIONS); throws naming the unknown ones. */
export function parseVercelRegions(text: string | undefined): string[] | undefined {
  if (!text?.trim()) return undefined;
  const regions = text.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = regions.filter((r) => !(VERCEL_REGIONS as readonly string[]).includes(r));
  if (unknown.length) throw new Error(`EDGEINFER_VERCEL_REGIONS: ${unknown.join(', ')} ${unknown.length > 1 ? 'are not Vercel regions' : 'is not a Vercel region'} (known: ${VERCEL_REGIONS.join(', ')})`);
  return regions;
}

/** Runs per day of a 5-field cron expression (minute hour day month weekday), counting minute × hour matches. */
export function cronRunsPerDay(expression: string): number {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`a cron expression has 5 fields, got "${expression}"`);
  const count = (field: string, min: number, max: number): number => {
    const hits = new Set<number>();
    for (const part of field.split(',')) {
      const [range, stepText] = part.split('/') as [string, string?];
      const step = stepText ? Number(stepText) : 1;
      const [lo, hi] = range === '*' ? [min, max] : range.includes('-') ? range.split('-').map(Number) as [number, number] : [Number(range), stepText ? max : Number(range)];
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || !(step >= 1)) throw new Error(`cannot read cron field "${field}"`);
      for (let v = lo; v <= hi; v += step) hits.add(v);
    }
    return hits.size;
  };
  return count(fields[0]!, 0, 59) * count(fields[1]!, 0, 23);
}

/** Checks a cron schedule against a tier; the error says what the tier allows. */
export function checkVercelCron(tier: VercelTier, schedule: string): void {
  const plan = VERCEL_PLANS[tier];
  const perDay = cronRunsPerDay(schedule);
  if (plan.cronMinIntervalMinutes >= 24 * 60 && perDay > 1) {
    throw new Error(`Vercel ${tier}: cron "${schedule}" runs ${perDay} times a day; ${tier} accounts are limited to daily cron jobs (https://vercel.com/docs/cron-jobs/usage-and-pricing)`);
  }
}
