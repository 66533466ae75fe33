// Benchmark (not a test): the cascade curve. Runs the edge and the regional model
// (onnxruntime-node, as `npm run calibrate` does) on the calibration (validation) split and
// on the test split, sweeps the escalation threshold on each, and reports accuracy against
// escalation rate and cost per 1M predictions (every request pays the edge invocation, each
// escalation a regional call; no cache: bench:fleet shows what the cache takes off). The
// calibrated threshold (model.json, chosen on the calibration split) is marked on both.
// The test-split curve is for READING ONLY: nothing is chosen on it, except the labelled
// "hindsight" point that shows what tuning on test would have picked (never used).
// Usage: npm run bench:cascade -- [--edge spam-edge] [--regional spam-regional] [--tolerance 0.2]
// Last line: one JSON object.
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_ROOT } from '../adapters/node/fs-model-source.ts';
import { perMillion, priceTableFor, regionalCallUsd } from '../core/cache/price-table.ts';
import type { ConfidenceMeasure } from '../core/router/confidence.ts';
import { chooseThreshold, sweepThresholds, type CalibrationItem, type SweepRow } from '../models/training/calibration.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { latestModelLoader, scoreCascade } from '../models/training/latest-models.ts';
import { machineLine } from './stats.ts';

const { values } = parseArgs({
  options: {
    edge: { type: 'string', default: 'spam-edge' },
    regional: { type: 'string', default: 'spam-regional' },
    models: { type: 'string', default: DEFAULT_MODELS_ROOT },
    tolerance: { type: 'string', default: '0.2' },
  },
});
const tolerance = Number(values.tolerance) / 100;
console.log(await machineLine());

const load = await latestModelLoader(values.models as string);
const edge = await load(values.edge as string);
const regional = await load(values.regional as string);
const threshold = edge.manifest.cascade.threshold;
const measure = ((edge.manifest.metrics as { cascade?: { measure?: ConfidenceMeasure } } | undefined)?.cascade?.measure ?? 'top') as ConfidenceMeasure;
if (threshold === null) throw new Error(`${edge.manifest.name} has no calibrated cascade.threshold; run \`npm run calibrate\``);

const splits = loadSplits();
const t0 = performance.now();
const validation = await scoreCascade(edge, regional, splits.calibration, measure);
const test = await scoreCascade(edge, regional, splits.test, measure);
console.log(`scored ${validation.length} validation (calibration split) and ${test.length} test messages in ${Math.round(performance.now() - t0)} ms (ort-node, both models)`);

const prices = priceTableFor('vercel-edge');
const costPerMillion = (rate: number) => perMillion(prices.edgeRequestUsd + rate * regionalCallUsd(prices));
const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;
/** The cascade at threshold `t` on `items` (escalate when score < t, as the router does). */
function at(items: readonly CalibrationItem[], t: number) {
  const escalated = items.filter((i) => !(i.score >= t));
  const correct = items.filter((i) => (i.score >= t ? i.edgeCorrect : i.regionalCorrect)).length;
  const rate = escalated.length / items.length;
  return { threshold: t, escalationRate: round(rate), accuracyPct: round((100 * correct) / items.length, 2), costPerMillionUsd: costPerMillion(rate) };
}
const accuracyOf = (items: readonly CalibrationItem[], pick: (i: CalibrationItem) => boolean) => round((100 * items.filter(pick).length) / items.length, 2);

// The curves: every distinct outcome, thinned to the points where accuracy changes (the steps).
function curve(items: readonly CalibrationItem[]) {
  const rows = sweepThresholds(items);
  const kept = rows.filter((row, i) => i === 0 || i === rows.length - 1 || row.cascadeAcc !== rows[i - 1]!.cascadeAcc || row.cascadeAcc !== rows[i + 1]?.cascadeAcc);
  return kept.map((r: SweepRow) => ({ threshold: round(r.threshold, 6), escalationRate: round(r.escalationRate), accuracyPct: round(r.cascadeAcc * 100, 2), costPerMillionUsd: costPerMillion(r.escalationRate) }));
}
const validationRegionalAcc = validation.filter((i) => i.regionalCorrect).length / validation.length;
const literal = chooseThreshold(sweepThresholds(validation), validationRegionalAcc, tolerance);
const testRegionalAcc = test.filter((i) => i.regionalCorrect).length / test.length;
const hindsight = chooseThreshold(sweepThresholds(test), testRegionalAcc, tolerance);

const calibrated = { validation: at(validation, threshold), test: at(test, threshold) };
const literalPoint = { validation: at(validation, literal.row.threshold), test: at(test, literal.row.threshold) };
const reference = {
  test: { edgeOnlyPct: accuracyOf(test, (i) => i.edgeCorrect), regionalOnlyPct: accuracyOf(test, (i) => i.regionalCorrect) },
  validation: { edgeOnlyPct: accuracyOf(validation, (i) => i.edgeCorrect), regionalOnlyPct: accuracyOf(validation, (i) => i.regionalCorrect) },
  costPerMillionUsd: { edgeOnly: costPerMillion(0), regionalOnly: costPerMillion(1), alwaysRegional: perMillion(prices.edgeRequestUsd + regionalCallUsd(prices)) },
};
const testGap = round(reference.test.regionalOnlyPct - calibrated.test.accuracyPct, 2);
const pct = (rate: number) => `${round(rate * 100, 2)} %`;

console.log(`measure ${measure}; tolerance ${values.tolerance} points; prices: ${prices.source}`);
console.log(`validation: edge-only ${reference.validation.edgeOnlyPct} %, regional-only ${reference.validation.regionalOnlyPct} %`);
console.log(`test:       edge-only ${reference.test.edgeOnlyPct} %, regional-only ${reference.test.regionalOnlyPct} %`);
console.log(`calibrated threshold ${threshold} (model.json, chosen on validation with the bootstrap rule):`);
console.log(`  validation: escalates ${pct(calibrated.validation.escalationRate)}, cascade ${calibrated.validation.accuracyPct} %, $${calibrated.validation.costPerMillionUsd}/1M`);
console.log(`  test:       escalates ${pct(calibrated.test.escalationRate)}, cascade ${calibrated.test.accuracyPct} % (gap to regional-only ${testGap} points), $${calibrated.test.costPerMillionUsd}/1M`);
console.log(`literal validation rule (first threshold within ${values.tolerance} points on validation as drawn) ${round(literal.row.threshold, 6)}: test escalates ${pct(literalPoint.test.escalationRate)}, cascade ${literalPoint.test.accuracyPct} %`);
console.log(`hindsight (chosen ON TEST, for reading only, never used): threshold ${round(hindsight.row.threshold, 6)}, escalates ${pct(hindsight.row.escalationRate)}, cascade ${round(hindsight.row.cascadeAcc * 100, 2)} %`);
console.log('test curve (escalation → accuracy, $/1M):');
for (const target of [0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1]) {
  const row = sweepThresholds(test).find((r) => r.escalationRate >= target);
  if (row) console.log(`  ${pct(row.escalationRate).padStart(8)}  ${`${round(row.cascadeAcc * 100, 2)} %`.padStart(8)}  $${costPerMillion(row.escalationRate)}  (threshold ${round(row.threshold, 6)})`);
}

await edge.release();
await regional.release();
console.log(
  JSON.stringify({
    bench: 'cascade',
    machine: await machineLine(),
    edge: `${edge.manifest.name}@${edge.manifest.version}`,
    regional: `${regional.manifest.name}@${regional.manifest.version}`,
    measure,
    tolerancePoints: Number(values.tolerance),
    messages: { validation: validation.length, test: test.length },
    prices: { edgePerMillion: perMillion(prices.edgeRequestUsd), regionalCallPerMillion: perMillion(regionalCallUsd(prices)), source: prices.source },
    reference,
    calibrated,
    literalValidationRule: literalPoint,
    hindsightOnTest: { threshold: round(hindsight.row.threshold, 6), escalationRate: round(hindsight.row.escalationRate), accuracyPct: round(hindsight.row.cascadeAcc * 100, 2), note: 'chosen on the test split: for reading the curve only, never used' },
    bar: { testGapPoints: testGap, calibratedWithin02PointsOnTest: testGap <= Number(values.tolerance) + 1e-9 },
    curves: { test: curve(test), validation: curve(validation) },
  }),
);
