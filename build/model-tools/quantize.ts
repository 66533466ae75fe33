// `npm run quantize -- <name>[@version] [--mode dynamic|static] [--calibration <file>] [--per-channel]
// [--samples <file>] [--count N] [--range input=lo,hi] [--min-elements N] [--quantize-fourier-basis] [--min-agreement 0.99]
// [--max-delta 0.05] [--ignore-agreement] [--version N] [--models-dir DIR] [--dry-run]`:
// int8 quantization of any fp32 ONNX graph of the repository, written as a new model version
// (build/model-tools/new-version.ts). What is quantized and how: quantize-graph.ts. The tool
// measures size before and after (.onnx and the micro module, raw and gzip) and agreement
// with the fp32 graph in onnxruntime-node on sample inputs (quantize-samples.ts), and refuses
// to write a version that agrees less than the threshold (README "Quantize your model").
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import type { ModelManifest } from '../../core/model/manifest.ts';
import { compileDeclaredModel } from '../micro/compile-model.ts';
import { decodeModel } from '../onnx/builder.ts';
import { readModelVersion, parseModelRef, writeNewVersion, type ModelVersion } from './new-version.ts';
import { addActivationQdq, FOURIER_BASIS_REASON, quantizeGraph, type QuantizeGraphResult } from './quantize-graph.ts';
import { agreement, agreementLine, calibrate, disagreementRefusal, generateSamples, parseRanges, readSamplesFile, runSamples, SampleRunError, type Agreement, type InputRanges, type Sample } from './quantize-samples.ts';

const ortLine = (error: unknown): string => String((error as Error)?.message ?? error).split('\n')[0]!;
import { derivedVersionFailure, finishDerivedVersion, fractionFlag } from './derived-version-cli.ts';
import { ModelToolError } from './tool-errors.ts';

/**
 * Refusal thresholds. A classifier must pick the fp32 graph's top label on >= 99 % of sample rows
 * (issue 14's bar). Other outputs must stay within 5 % of the largest fp32 output value
 * (max |delta| / max |y|): int8 weights move outputs by ~1 % on the graphs we measured, so 5 %
 * catches a graph that quantization breaks without refusing ordinary rounding.
 */

export interface QuantizeOptions {
  model: string;
  mode?: 'dynamic' | 'static';
  perChannel?: boolean;
  calibration?: string;
  samples?: string;
  /** Random samples when no --samples file is given (default 64). */
  count?: number;
  ranges?: InputRanges;
  minElements?: number;
  /** Quantize Conv weights that are a Fourier basis too (by default they stay fp32, see quantize-graph.ts). */
  quantizeFourierBasis?: boolean;
  minAgreement?: number;
  maxRelativeDelta?: number;
  ignoreAgreement?: boolean;
  version?: string;
  modelsRoot?: string;
  dryRun?: boolean;
  /** Progress lines (calibration, evaluation). */
  progress?: (line: string) => void;
}

export interface SizeReport {
  onnx: { raw: number; gzip: number };
  /** The generated micro module, or why the graph does not compile. */
  micro: { raw: number; gzip: number } | { error: string };
}

export interface QuantizeReport {
  source: ModelVersion;
  mode: 'dynamic' | 'static';
  perChannel: boolean;
  graph: QuantizeGraphResult;
  activations: string[];
  before: SizeReport;
  after: SizeReport;
  agreement: Agreement;
  /** Why it was refused (agreement below a threshold), or undefined. */
  refusal?: string;
  /** Where it was written (absent on a dry run or a refusal). */
  written?: { dir: string; version: string; sha256: string };
  bytes: Uint8Array;
}

const gzip = (bytes: Uint8Array | string) => gzipSync(bytes, { level: 9 }).length;

// Micro size as the model is served: specialised on the input shapes model.json fixes.
function sizes(bytes: Uint8Array, model: Pick<ModelManifest, 'name' | 'version' | 'inputs'>): SizeReport {
  let micro: SizeReport['micro'];
  try {
    const { source } = compileDeclaredModel(bytes, model);
    micro = { raw: Buffer.byteLength(source), gzip: gzip(source) };
  } catch (error) {
    micro = { error: (error as Error).message.split('\n')[0]!.slice(0, 200) };
  }
  return { onnx: { raw: bytes.length, gzip: gzip(bytes) }, micro };
}

/** A progress reporter for long runs: `label i/n` every ~10 %, once a run has taken over a second. */
function stepper(print: ((line: string) => void) | undefined, label: string, total: number): ((done: number) => void) | undefined {
  if (!print) return undefined;
  let next = 0;
  const started = Date.now();
  return (done) => {
    if ((done < next && done !== total) || Date.now() - started < 1000) return;
    next = done + Math.max(1, Math.ceil(total / 10));
    print(`  ${label} ${done}/${total} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  };
}

/** Quantizes one model version; writes the new version unless refused or a dry run. */
export async function quantizeModel(options: QuantizeOptions): Promise<QuantizeReport> {
  const mode = options.mode ?? 'dynamic';
  const perChannel = options.perChannel ?? false;
  if (options.calibration && mode !== 'static') throw new ModelToolError('--calibration is for --mode static (dynamic mode quantizes weights only and needs no activation ranges)');
  const source = await readModelVersion(parseModelRef(options.model), options.modelsRoot);
  const label = `${source.name}@${source.version}`;
  const samples: Sample[] = options.samples
    ? await readSamplesFile(options.samples, source.manifest, '--samples')
    : generateSamples(source.manifest, source.onnx, options.count ?? 64, 1, options.ranges);

  const model = decodeModel(source.onnx);
  const graph = quantizeGraph(model, { perChannel, minElements: options.minElements ?? 256, keepFourierBasis: !options.quantizeFourierBasis });
  if (!graph.weights.length) {
    throw new ModelToolError(`${label}: no fp32 weight of MatMul, Gemm, Conv or Gather with ≥ ${options.minElements ?? 256} elements to quantize` +
      (graph.skipped.length ? ` (${graph.skipped[0]!.name}: ${graph.skipped[0]!.reason})` : ' (already int8?)'));
  }
  let activations: string[] = [];
  if (mode === 'static') {
    // Calibration inputs: the --calibration file, else random ones drawn apart from the evaluation samples.
    const calibrationSamples = options.calibration
      ? await readSamplesFile(options.calibration, source.manifest, '--calibration')
      : generateSamples({ ...source.manifest, warmup: [] }, source.onnx, options.count ?? 64, 2, options.ranges);
    options.progress?.(`calibrating ${graph.activationCandidates.length} activation tensors (MinMax) on ${calibrationSamples.length} inputs${options.calibration ? '' : ' (random: pass --calibration with real inputs for real ranges)'}`);
    const ranges = await calibrate(source.onnx, graph.activationCandidates, calibrationSamples, stepper(options.progress, 'calibration', calibrationSamples.length));
    activations = addActivationQdq(model, ranges);
  }
  const bytes = onnxProto.onnx.ModelProto.encode(model).finish();

  options.progress?.(`comparing with the fp32 graph on ${samples.length} inputs (onnxruntime-node)`);
  let reference;
  try {
    reference = await runSamples(source.onnx, samples);
  } catch (error) {
    if (!(error instanceof SampleRunError)) throw error;
    const origin = options.samples ? `from ${options.samples}` : error.index < source.manifest.warmup.length ? 'model.json warmup' : 'generated';
    throw new ModelToolError(`${label}: onnxruntime-node cannot run the fp32 graph on ${origin} ${error.message}; ` +
      `pass inputs it runs on with --samples file.json, or declare them in model.json (inputs[].shape for the sizes, "default" for a fixed value such as a sample rate, a warmup request)`);
  }
  let candidate;
  try {
    candidate = await runSamples(bytes, samples, stepper(options.progress, 'evaluation', samples.length));
  } catch (error) {
    throw new ModelToolError(`${label}: onnxruntime-node cannot run the quantized graph: ${error instanceof SampleRunError ? error.message : ortLine(error)}`);
  }
  const agree = agreement(reference, candidate, source.manifest);

  const refusal = bytes.length >= source.onnx.length
    ? `the quantized graph (${bytes.length} bytes) is not smaller than the fp32 one (${source.onnx.length}): nothing to gain`
    : disagreementRefusal(agree, options.minAgreement, options.maxRelativeDelta);

  const report: QuantizeReport = { source, mode, perChannel, graph, activations, before: sizes(source.onnx, source.manifest), after: sizes(bytes, { ...source.manifest, version: 'int8' }), agreement: agree, bytes, ...(refusal ? { refusal } : {}) };
  if (refusal && !options.ignoreAgreement) return report;
  if (options.dryRun) return report;
  const written = await writeNewVersion({
    source,
    onnx: bytes,
    ...(options.version ? { version: options.version } : {}),
    derivation: {
      tool: 'quantize',
      summary: `int8 ${mode === 'static' ? 'weights and activations' : 'weights'} (${perChannel ? 'per-channel' : 'per-tensor'}, symmetric), QDQ`,
      options: { mode, perChannel, minElements: options.minElements ?? 256, ...(options.quantizeFourierBasis ? { quantizeFourierBasis: true } : {}), samples: options.samples ?? `${samples.length} generated`, ...(options.calibration ? { calibration: options.calibration } : {}) },
    },
    metrics: {
      weights: graph.weights.length,
      activations: activations.length,
      onnxBytes: { before: report.before.onnx, after: report.after.onnx },
      ...('gzip' in report.after.micro && 'gzip' in report.before.micro ? { microModuleBytes: { before: report.before.micro, after: report.after.micro } } : {}),
      agreement: { samples: agree.samples, ...(agree.top1 ? { top1: agree.top1.rate } : {}), maxAbsDelta: Object.fromEntries(agree.outputs.map((o) => [o.name, o.maxAbsDelta])) },
    },
  });
  report.written = { dir: written.dir, version: written.version, sha256: written.sha256 };
  return report;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/** The report as the CLI prints it. */
export function formatReport(r: QuantizeReport): string[] {
  const lines: string[] = [];
  const label = `${r.source.name}@${r.source.version}`;
  lines.push(`quantize ${label}: int8 ${r.mode} (${r.mode === 'static' ? 'weights + activations' : 'weights only'}, ${r.perChannel ? 'per-channel' : 'per-tensor'}, symmetric weights), opset ${r.graph.opset}`);
  const byOp = new Map<string, number>();
  for (const w of r.graph.weights) for (const op of w.ops) byOp.set(op, (byOp.get(op) ?? 0) + 1);
  lines.push(`  weights: ${r.graph.weights.length} quantized (${[...byOp].map(([op, n]) => `${op} ${n}`).join(', ')}); ${r.graph.skipped.length} left fp32${r.graph.skipped.length ? ` (e.g. ${r.graph.skipped[0]!.name}: ${r.graph.skipped[0]!.reason})` : ''}`);
  const fourier = r.graph.skipped.filter((s) => s.reason === FOURIER_BASIS_REASON).length;
  if (fourier) lines.push(`  kept fp32: ${fourier} Conv weight${fourier > 1 ? 's' : ''} that ${fourier > 1 ? 'are' : 'is'} a Fourier basis (an STFT): the micro engine runs ${fourier > 1 ? 'them' : 'it'} as an FFT and its module carries no bytes for ${fourier > 1 ? 'them' : 'it'}; int8 would make it carry them and run a direct conv (--quantize-fourier-basis does, for a smaller .onnx in onnxruntime)`);
  if (r.graph.foldedConstants) lines.push(`  computed ${r.graph.foldedConstants} Slice/Concat/Unsqueeze/Reshape/Transpose nodes over constants into float constants (weights assembled in the graph, e.g. an LSTM's reordered gates)`);
  if (r.graph.folded.length) lines.push(`  folded ${r.graph.folded.length} BatchNormalization into the Conv before each (fp32, before quantizing: the int8 weight is the one the graph computes with)`);
  if (r.mode === 'static') lines.push(`  activations: ${r.activations.length} tensors with QuantizeLinear/DequantizeLinear (int8, MinMax ranges)`);
  const b = r.before;
  const a = r.after;
  lines.push(`  .onnx: ${kb(b.onnx.raw)} → ${kb(a.onnx.raw)} (${ratio(a.onnx.raw, b.onnx.raw)}), gzip ${kb(b.onnx.gzip)} → ${kb(a.onnx.gzip)} (${ratio(a.onnx.gzip, b.onnx.gzip)})`);
  if ('gzip' in b.micro && 'gzip' in a.micro) {
    lines.push(`  micro module: ${kb(b.micro.raw)} → ${kb(a.micro.raw)} (${ratio(a.micro.raw, b.micro.raw)}), gzip ${kb(b.micro.gzip)} → ${kb(a.micro.gzip)} (${ratio(a.micro.gzip, b.micro.gzip)})`);
  } else {
    lines.push(`  micro module: ${'error' in a.micro ? `the int8 graph does not compile (${a.micro.error})` : 'the fp32 graph does not compile'}`);
  }
  lines.push(agreementLine(r.agreement, 'fp32'));
  return lines;
}

const USAGE = 'usage: npm run quantize -- <name>[@version] [--mode dynamic|static] [--calibration <file>] [--per-channel] [--samples <file>] [--count N] ' +
  '[--range input=lo,hi] [--min-elements N] [--quantize-fourier-basis] [--min-agreement 0.99] [--max-delta 0.05] [--ignore-agreement] [--version N] [--models-dir DIR] [--dry-run]';

/** The CLI: parses flags, quantizes, prints; returns the exit code (2 for a usage or input problem, 1 for a refusal). */
export async function quantizeMain(argv: string[], print: (line: string) => void = console.log, printError: (line: string) => void = console.error): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        mode: { type: 'string' }, calibration: { type: 'string' }, 'per-channel': { type: 'boolean', default: false }, samples: { type: 'string' },
        count: { type: 'string' }, range: { type: 'string', multiple: true }, 'min-elements': { type: 'string' }, 'min-agreement': { type: 'string' },
        'max-delta': { type: 'string' }, 'ignore-agreement': { type: 'boolean', default: false }, version: { type: 'string' }, 'models-dir': { type: 'string' },
        'dry-run': { type: 'boolean', default: false }, 'quantize-fourier-basis': { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new ModelToolError(USAGE);
    if (values.mode !== undefined && values.mode !== 'dynamic' && values.mode !== 'static') throw new ModelToolError(`--mode must be one of dynamic, static, got ${JSON.stringify(values.mode)}`);
    const integer = (flag: string, value: string | undefined, min: number): number | undefined => {
      if (value === undefined) return undefined;
      if (!/^\d+$/.test(value) || Number(value) < min) throw new ModelToolError(`--${flag} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
      return Number(value);
    };
    const count = integer('count', values.count, 1);
    const minElements = integer('min-elements', values['min-elements'], 1);
    const minAgreement = fractionFlag('min-agreement', values['min-agreement']);
    const maxRelativeDelta = fractionFlag('max-delta', values['max-delta']);
    const modelsRoot = values['models-dir'] ?? process.env.EDGEINFER_MODELS_DIR;
    const report = await quantizeModel({
      model: positionals[0]!,
      ...(values.mode ? { mode: values.mode as 'dynamic' | 'static' } : {}),
      perChannel: values['per-channel'] ?? false,
      ...(values.calibration !== undefined ? { calibration: values.calibration } : {}),
      ...(values.samples !== undefined ? { samples: values.samples } : {}),
      ...(count !== undefined ? { count } : {}),
      ranges: parseRanges(values.range),
      ...(minElements !== undefined ? { minElements } : {}),
      quantizeFourierBasis: values['quantize-fourier-basis'] ?? false,
      ...(minAgreement !== undefined ? { minAgreement } : {}),
      ...(maxRelativeDelta !== undefined ? { maxRelativeDelta } : {}),
      ignoreAgreement: values['ignore-agreement'] ?? false,
      ...(values.version !== undefined ? { version: values.version } : {}),
      ...(modelsRoot ? { modelsRoot } : {}),
      dryRun: values['dry-run'] ?? false,
      progress: (line) => printError(line),
    });
    for (const line of formatReport(report)) print(line);
    return finishDerivedVersion('quantize', report, values['ignore-agreement'] ?? false, print, printError);
  } catch (error) {
    return derivedVersionFailure('quantize', error, printError);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await quantizeMain(process.argv.slice(2));
