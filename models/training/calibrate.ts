// `npm run calibrate`: choose the edge model's cascade threshold. Runs the edge and the
// regional model (onnxruntime-node) on the calibration split, sweeps the threshold, prints
// the table (threshold, escalation rate, cascade accuracy, expected cost per 1k, how often
// the point meets the target over bootstrap resamples), picks the lowest escalation rate
// whose cascade accuracy is within --tolerance points of regional-only in at least
// --confidence of the resamples, writes it to the edge model's model.json
// (cascade.threshold; the .onnx and its sha256 are untouched), then reports that threshold
// on the test split. The test split is never used to choose. Last line: one JSON object.
// Why the bootstrap: one calibration message is ~0.1 points, so the first point that meets
// a 0.2-point target on the split as drawn usually does so by luck (--confidence 0 gives
// that literal rule).
// Usage: npx tsx models/training/calibrate.ts [--edge spam-edge] [--regional spam-regional]
//        [--models DIR] [--measure top|margin] [--tolerance 0.2] [--confidence 0.9] [--dry-run]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODELS_ROOT } from '../../adapters/node/fs-model-source.ts';
import { DEFAULT_PRICE_TABLE, regionalCallUsd } from '../../core/cache/price-table.ts';
import type { ConfidenceMeasure } from '../../core/router/confidence.ts';
import { bootstrapMeetRates, chooseThreshold, chooseThresholdReliably, sweepThresholds, type CalibrationItem, type SweepRow } from './calibration.ts';
import { loadSplits } from './dataset.ts';
import { latestModelLoader, scoreCascade } from './latest-models.ts';
import { createPrng } from './prng.ts';

const { values } = parseArgs({
  options: {
    edge: { type: 'string', default: 'spam-edge' },
    regional: { type: 'string', default: 'spam-regional' },
    models: { type: 'string', default: DEFAULT_MODELS_ROOT },
    measure: { type: 'string', default: 'top' },
    tolerance: { type: 'string', default: '0.2' },
    confidence: { type: 'string', default: '0.9' },
    resamples: { type: 'string', default: '2000' },
    'dry-run': { type: 'boolean', default: false },
  },
});
const measure = values.measure as ConfidenceMeasure;
if (measure !== 'top' && measure !== 'margin') throw new Error('--measure must be top or margin');
const tolerance = Number(values.tolerance) / 100; // points → fraction
const modelsRoot = values.models as string;
const load = await latestModelLoader(modelsRoot);
const edge = await load(values.edge as string);
const regional = await load(values.regional as string);

const splits = loadSplits();
const t0 = performance.now();
const calibration = await scoreCascade(edge, regional, splits.calibration, measure);
const test = await scoreCascade(edge, regional, splits.test, measure);
console.log(`scored ${calibration.length} calibration and ${test.length} test messages in ${Math.round(performance.now() - t0)} ms (ort-node)`);

const accuracy = (items: readonly CalibrationItem[], pick: (i: CalibrationItem) => boolean) => items.filter(pick).length / items.length;
const calRegionalAcc = accuracy(calibration, (i) => i.regionalCorrect);
const calEdgeAcc = accuracy(calibration, (i) => i.edgeCorrect);
const rows = sweepThresholds(calibration);
const confidence = Number(values.confidence);
const prng = createPrng(20261128);
// Each row's meet rate is measured against that resample's own regional-only accuracy.
const meetRates = bootstrapMeetRates(calibration, rows, tolerance, Number(values.resamples), () => prng.next());
const literal = chooseThreshold(rows, calRegionalAcc, tolerance);
const choice = confidence > 0 ? chooseThresholdReliably(rows, meetRates, confidence) : { ...literal, meetRate: meetRates[rows.indexOf(literal.row)] as number };

// Expected cost per 1k predictions: every request pays the edge invocation, escalations
// add a regional call (request fee + GB-seconds at the price table's billed duration).
const costPer1k = (rate: number) => 1000 * (DEFAULT_PRICE_TABLE.edgeRequestUsd + rate * regionalCallUsd(DEFAULT_PRICE_TABLE));
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

console.log(
  `calibration split: edge-only ${pct(calEdgeAcc)}, regional-only ${pct(calRegionalAcc)}; target: within ${values.tolerance} points of ` +
    `regional-only in ≥ ${confidence * 100}% of ${values.resamples} bootstrap resamples (measure: ${measure})`,
);
console.log('threshold   escalation  cascade_acc  cost/1k (USD)  meets target');
const shown = new Set<SweepRow>();
for (const target of [0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3, 0.5, 1]) {
  const row = rows.find((r) => r.escalationRate >= target) ?? rows.at(-1);
  if (row) shown.add(row);
}
shown.add(choice.row);
shown.add(literal.row);
for (const row of [...shown].sort((a, b) => a.escalated - b.escalated)) {
  const mark = row === choice.row ? '  ← chosen' : row === literal.row ? '  ← first point meeting the target as drawn' : '';
  const meetRate = meetRates[rows.indexOf(row)] as number;
  console.log(
    `${row.threshold.toFixed(6).padEnd(11)} ${pct(row.escalationRate).padStart(10)}  ${pct(row.cascadeAcc).padStart(11)}  ` +
      `${costPer1k(row.escalationRate).toFixed(6).padStart(13)}  ${pct(meetRate).padStart(12)}${mark}`,
  );
}
if (!choice.meetsTarget) console.log(`no threshold meets the target on the calibration split; chose the most accurate point`);

const threshold = choice.row.threshold;
// The router's rule (assessConfidence): confident when score ≥ threshold.
const escalate = (i: CalibrationItem) => !(i.score >= threshold);
const testEscalated = test.filter(escalate);
const testCascadeCorrect = test.filter((i) => (escalate(i) ? i.regionalCorrect : i.edgeCorrect)).length;
const result = {
  threshold,
  measure,
  escalation_rate: testEscalated.length / test.length,
  cascade_acc: testCascadeCorrect / test.length,
  regional_acc: accuracy(test, (i) => i.regionalCorrect),
  edge_acc: accuracy(test, (i) => i.edgeCorrect),
  test_messages: test.length,
  calibration: {
    escalation_rate: choice.row.escalationRate,
    cascade_acc: choice.row.cascadeAcc,
    regional_acc: calRegionalAcc,
    edge_acc: calEdgeAcc,
    meets_target: choice.meetsTarget,
    bootstrap_meet_rate: choice.meetRate,
  },
  cost_per_1k_usd: costPer1k(testEscalated.length / test.length),
};
console.log(
  `test split at threshold ${threshold.toFixed(6)}: escalations ${pct(result.escalation_rate)}, cascade ${pct(result.cascade_acc)}, ` +
    `regional-only ${pct(result.regional_acc)}, edge-only ${pct(result.edge_acc)} (gap ${((result.regional_acc - result.cascade_acc) * 100).toFixed(2)} points)`,
);

if (!values['dry-run']) {
  // Only cascade.threshold and metrics.cascade change: the .onnx and its sha256 stay as they are.
  const file = join(modelsRoot, edge.manifest.name, edge.manifest.version, 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  manifest.cascade = { ...(manifest.cascade as object), threshold };
  manifest.metrics = {
    ...(manifest.metrics as object),
    cascade: { measure, regionalModel: regional.manifest.name, regionalSha256: regional.manifest.sha256, calibration: result.calibration },
  };
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote cascade.threshold = ${threshold} to ${file}`);
}
await edge.release();
await regional.release();
console.log(JSON.stringify(result));
