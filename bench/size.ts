// `npm run bench:size`: artifact sizes of every target, raw / gzip / zip, against every tier
// of its provider (Vercel Hobby 1 MB, Pro 2 MB, Enterprise 4 MB gzip; Netlify 20 MB;
// Lambda@Edge viewer 1 MB and origin 50 MB zipped; regional 50 MB zipped), with the micro
// engine and, where a target can carry it, with ORT. Nothing is written; the last line is
// one JSON object.
import { bundleTargetFunctions, type BuildTarget, type TargetOptions } from '../build/pipeline.ts';
import { checkSize, formatSizeTable, SIZE_LIMITS, type ArtifactSize, type SizeTier } from '../build/size-budget.ts';
import { TARGETS } from '../build/targets/index.ts';

const variants: Array<{ label: string; target: BuildTarget; options: TargetOptions }> = [
  { label: 'vercel (micro)', target: TARGETS.vercel, options: { tier: 'hobby', baked: {}, engines: ['micro'] } },
  { label: 'vercel (micro + ort-web)', target: TARGETS.vercel, options: { tier: 'hobby', baked: {}, engines: ['micro', 'ort-web'] } },
  { label: 'netlify (micro)', target: TARGETS.netlify, options: { tier: 'default', baked: {}, engines: ['micro'] } },
  { label: 'lambda-edge', target: TARGETS['lambda-edge'], options: { tier: 'default', baked: {} } },
  { label: 'regional', target: TARGETS.regional, options: { tier: 'default', baked: {} } },
];

const rows: ArtifactSize[] = [];
const compositions: Array<{ target: string; artifact: string; top: Array<{ source: string; bytes: number }> }> = [];
for (const variant of variants) {
  for (const fn of await bundleTargetFunctions(variant.target, variant.options)) {
    compositions.push({ target: variant.label, artifact: fn.spec.name, top: fn.composition.slice(0, 6) });
    const tiers = SIZE_LIMITS[fn.spec.budget] as Record<string, SizeTier>;
    for (const [name, tier] of Object.entries(tiers)) {
      rows.push(checkSize(variant.label, fn.spec.name, { rawBytes: fn.size.rawBytes, gzipBytes: fn.size.gzipBytes, ...(fn.size.zipBytes !== undefined ? { zipBytes: fn.size.zipBytes } : {}) }, name, tier));
    }
  }
}
console.log(`Artifact sizes (Node ${process.version}, esbuild minified, gzip level 9; zip = the Lambda deployment package)`);
console.log(formatSizeTable(rows));
console.log('\nlargest contributors to each bundle (minified bytes, before compression; extra files such as .wasm not included):');
for (const c of compositions) console.log(`  ${c.target} / ${c.artifact}: ${c.top.map((t) => `${t.source} ${(t.bytes / 1024).toFixed(0)} KB`).join(', ')}`);
const microRows = rows.filter((r) => !r.target.includes('ort-web') && r.target !== 'regional' && r.artifact !== 'origin-request');
const largestMicroGzip = Math.max(...microRows.map((r) => r.zipBytes ?? r.gzipBytes));
console.log(`micro-engine builds: largest ${(largestMicroGzip / 1024).toFixed(1)} KB compressed — ${largestMicroGzip <= 1024 * 1024 ? 'within' : 'OVER'} 1 MB on every target`);
console.log(
  JSON.stringify({
    bench: 'size',
    microUnder1MbEverywhere: largestMicroGzip <= 1024 * 1024,
    compositions,
    artifacts: rows.map((r) => ({ target: r.target, artifact: r.artifact, tier: r.tier, rawBytes: r.rawBytes, gzipBytes: r.gzipBytes, ...(r.zipBytes !== undefined ? { zipBytes: r.zipBytes } : {}), limitBytes: r.limitBytes, measure: r.measure, fits: r.fits })),
  }),
);
