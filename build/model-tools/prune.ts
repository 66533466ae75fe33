// `npm run prune -- <name>[@version] [--sparsity 0.5] [--structured] [--norm l2|l1]
// [--storage auto|scatter|sparse|dense] [--samples <file>] [--count N] [--range input=lo,hi] [--min-agreement 0.99]
// [--max-delta 0.05] [--ignore-agreement] [--version N] [--models-dir DIR] [--dry-run]`:
// prunes any fp32 ONNX graph of the repository and writes it as a new model version
// (new-version.ts), after measuring what it costs. Unstructured (default): the smallest
// weights of every MatMul/Gemm/Conv/Gather become zeros, stored without them
// (prune-unstructured.ts); --structured: whole channels and hidden units go, the dense graph
// shrinks (prune-structured.ts). It prints sizes before/after (.onnx raw and gzip, and the
// micro module) and agreement with the original over sample inputs on onnxruntime-node, and
// refuses to write below the thresholds: top-1 agreement 99 % for classifiers, max |delta|
// 5 % of the largest output value for other models (the quantize tool's bars).
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import onnxProto from 'onnx-proto';
import type { ModelManifest } from '../../core/model/manifest.ts';
import { compileDeclaredModel } from '../micro/compile-model.ts';
import { decodeModel } from '../onnx/builder.ts';
import { parseModelRef, readModelVersion, writeNewVersion, type ModelVersion } from './new-version.ts';
import { pruneStructured, type ChannelGroup } from './prune-structured.ts';
import { pruneUnstructured, type PruneStorage, type PrunedTensor } from './prune-unstructured.ts';
import { agreement as compareOutputs, agreementLine, disagreementRefusal, generateSamples, parseRanges, readSamplesFile, runSamples, type Agreement, type InputRanges, type Outputs } from './quantize-samples.ts';
import { derivedVersionFailure, finishDerivedVersion, fractionFlag } from './derived-version-cli.ts';
import { ModelToolError } from './tool-errors.ts';


export interface PruneOptions {
  model: string;
  sparsity: number;
  structured?: boolean;
  norm?: 'l1' | 'l2';
  storage?: PruneStorage;
  samples?: string;
  count?: number;
  /** Value ranges of random inputs (--range input=lo,hi); floats default to [-1, 1]. */
  ranges?: InputRanges;
  minAgreement?: number;
  maxRelativeDelta?: number;
  ignoreAgreement?: boolean;
  version?: string;
  modelsRoot?: string;
  dryRun?: boolean;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
}

interface Sizes {
  onnx: { raw: number; gzip: number };
  /** The micro module the build would embed, or why the graph does not compile. */
  micro: { raw: number; gzip: number } | { error: string };
}

export interface PruneReport {
  source: ModelVersion;
  options: PruneOptions;
  tensors?: PrunedTensor[];
  groups?: ChannelGroup[];
  before: Sizes;
  after: Sizes;
  agreement: Agreement;
  bytes: Uint8Array;
  refusal?: string;
  written?: { dir: string; version: string; sha256: string };
}

// Micro size as the model is served: specialised on the input shapes model.json fixes.
function sizes(bytes: Uint8Array, model: Pick<ModelManifest, 'name' | 'version' | 'inputs'>): Sizes {
  const gzip = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;
  let micro: Sizes['micro'];
  try {
    const source = new TextEncoder().encode(compileDeclaredModel(bytes, model).source);
    micro = { raw: source.length, gzip: gzip(source) };
  } catch (error) {
    micro = { error: (error as Error).message.split(';')[0]! };
  }
  return { onnx: { raw: bytes.length, gzip: gzip(bytes) }, micro };
}

/** Prunes, measures, and (unless refused or a dry run) writes the new version. */
export async function pruneModel(options: PruneOptions): Promise<PruneReport> {
  const { sparsity, progress } = options;
  if (!(sparsity > 0 && sparsity < 1)) throw new ModelToolError(`--sparsity must be a number in (0, 1), e.g. 0.5, got ${sparsity}`);
  const source = await readModelVersion(parseModelRef(options.model), options.modelsRoot);
  const label = `${source.name}@${source.version}`;
  const model = decodeModel(source.onnx);
  let tensors: PrunedTensor[] | undefined;
  let groups: ChannelGroup[] | undefined;
  if (options.structured) {
    progress?.(`${label}: finding channel groups (${options.norm ?? 'l2'} norm, dropping ${Math.round(sparsity * 100)} % of each)`);
    groups = pruneStructured(model, sparsity, options.norm ?? 'l2');
    if (!groups.some((g) => !g.refused)) {
      const reasons = groups.map((g) => `${g.producers[0] ?? '?'}: ${g.refused}`);
      throw new ModelToolError(`${label}: no channel group can be pruned structurally${reasons.length ? ` (${reasons.slice(0, 4).join('; ')}${reasons.length > 4 ? `; +${reasons.length - 4} more` : ''})` : ' (no Gemm, MatMul or Conv with an fp32 weight)'}; try without --structured`);
    }
  } else {
    tensors = pruneUnstructured(model, sparsity, {
      ...(options.storage ? { storage: options.storage } : {}),
      onTensor: (done, total, name) => progress?.(`${label}: pruning weight ${done + 1}/${total} (${name})`),
    });
    if (!tensors.length) throw new ModelToolError(`${label}: no fp32 weight of MatMul, Gemm, Conv or Gather to prune (int8 weights are already smaller dense than sparse)`);
  }
  const bytes = onnxProto.onnx.ModelProto.encode(model).finish();

  // The same samples and measures as npm run quantize (quantize-samples.ts), so both tools judge alike.
  const samples = options.samples ? await readSamplesFile(options.samples, source.manifest, '--samples') : generateSamples(source.manifest, source.onnx, options.count ?? 64, 1, options.ranges);
  progress?.(`${label}: comparing with the original on ${samples.length} inputs (onnxruntime-node)`);
  let reference: Outputs[];
  try {
    reference = await runSamples(source.onnx, samples);
  } catch (error) {
    const shapes = Object.entries(samples[0] ?? {}).map(([name, t]) => `${name} [${t.dims}]`).join(', ');
    throw new ModelToolError(`${label}: the original graph does not run on the sample inputs (${shapes}): ${(error as Error).message.split('\n')[0]}; declare a warmup shape in model.json or pass --samples`);
  }
  let candidate: Outputs[];
  try {
    candidate = await runSamples(bytes, samples);
  } catch (error) {
    throw new ModelToolError(`${label}: onnxruntime-node cannot run the pruned graph: ${(error as Error).message.split('\n')[0]}`);
  }
  const agreement = compareOutputs(reference, candidate, source.manifest);
  progress?.(`${label}: measuring sizes (.onnx and micro module)`);
  const before = sizes(source.onnx, source.manifest);
  const after = sizes(bytes, { ...source.manifest, version: 'pruned' });

  const refusal = after.onnx.raw >= before.onnx.raw && after.onnx.gzip >= before.onnx.gzip
    ? `the pruned graph (${after.onnx.raw} bytes, ${after.onnx.gzip} gzip) is not smaller than the original (${before.onnx.raw}, ${before.onnx.gzip} gzip)`
    : disagreementRefusal(agreement, options.minAgreement, options.maxRelativeDelta);
  const report: PruneReport = { source, options, ...(tensors ? { tensors } : {}), ...(groups ? { groups } : {}), before, after, agreement, bytes, ...(refusal ? { refusal } : {}) };
  if ((refusal && !options.ignoreAgreement) || options.dryRun) return report;

  const kind = options.structured ? 'structured' : 'unstructured';
  const written = await writeNewVersion({
    source,
    onnx: bytes,
    ...(options.version ? { version: options.version } : {}),
    derivation: {
      tool: 'prune',
      summary: options.structured
        ? `structured pruning: ${Math.round(sparsity * 100)} % of the channels of ${groups!.filter((g) => !g.refused).length} channel groups removed (${options.norm ?? 'l2'} norm)`
        : `unstructured magnitude pruning: ${Math.round(sparsity * 100)} % of each weight zeroed, stored without the zeros`,
      options: { kind, sparsity, ...(options.structured ? { norm: options.norm ?? 'l2' } : { storage: options.storage ?? 'auto' }), samples: options.samples ?? `${samples.length} generated` },
    },
    metrics: {
      kind,
      sparsity,
      onnxBytes: { before: before.onnx, after: after.onnx },
      ...('raw' in before.micro && 'raw' in after.micro ? { microModuleBytes: { before: before.micro, after: after.micro } } : {}),
      agreement: { samples: agreement.samples, ...(agreement.top1 ? { top1: agreement.top1.rate } : {}), maxAbsDelta: Object.fromEntries(agreement.outputs.map((o) => [o.name, o.maxAbsDelta])) },
    },
  });
  report.written = { dir: written.dir, version: written.version, sha256: written.sha256 };
  return report;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/** The report as the CLI prints it. */
export function formatPruneReport(r: PruneReport): string[] {
  const label = `${r.source.name}@${r.source.version}`;
  const lines = [`prune ${label}: ${r.options.structured ? 'structured' : 'unstructured'}, sparsity ${r.options.sparsity}`];
  if (r.tensors) {
    const zeros = r.tensors.reduce((n, t) => n + t.zeros, 0);
    const elements = r.tensors.reduce((n, t) => n + t.elements, 0);
    const by = new Map<string, number>();
    for (const t of r.tensors) by.set(t.storage, (by.get(t.storage) ?? 0) + 1);
    lines.push(`  weights: ${r.tensors.length} pruned, ${zeros}/${elements} elements zero (${((zeros / elements) * 100).toFixed(1)} %); stored ${[...by].map(([s, n]) => `${s} ${n}`).join(', ')}`);
  }
  for (const g of r.groups ?? []) {
    lines.push(`  ${g.refused ? 'kept   ' : 'pruned '} ${g.producers.join(' + ')}: ${g.channels} → ${g.kept} channels${g.refused ? ` (${g.refused})` : ` (→ ${g.consumers.join(', ')})`}`);
  }
  const b = r.before;
  const a = r.after;
  lines.push(`  .onnx: ${kb(b.onnx.raw)} → ${kb(a.onnx.raw)} (${ratio(a.onnx.raw, b.onnx.raw)}), gzip ${kb(b.onnx.gzip)} → ${kb(a.onnx.gzip)} (${ratio(a.onnx.gzip, b.onnx.gzip)})`);
  if ('raw' in b.micro && 'raw' in a.micro) lines.push(`  micro module: ${kb(b.micro.raw)} → ${kb(a.micro.raw)} (${ratio(a.micro.raw, b.micro.raw)}), gzip ${kb(b.micro.gzip)} → ${kb(a.micro.gzip)} (${ratio(a.micro.gzip, b.micro.gzip)})`);
  else lines.push(`  micro module: ${'error' in a.micro ? `the pruned graph does not compile (${a.micro.error})` : 'the original graph does not compile'}`);
  lines.push(agreementLine(r.agreement, 'the original'));
  return lines;
}

const USAGE = 'usage: npm run prune -- <name>[@version] [--sparsity 0.5] [--structured] [--norm l2|l1] [--storage auto|scatter|sparse|dense] [--samples <file>] [--count N] [--range input=lo,hi] ' +
  '[--min-agreement 0.99] [--max-delta 0.05] [--ignore-agreement] [--version N] [--models-dir DIR] [--dry-run]';

/** The CLI: returns the exit code (2 for a usage or input problem, 1 for a refusal). */
export async function pruneMain(argv: string[], print: (line: string) => void = console.log, printError: (line: string) => void = console.error): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        sparsity: { type: 'string', default: '0.5' }, structured: { type: 'boolean', default: false }, norm: { type: 'string' }, storage: { type: 'string' },
        samples: { type: 'string' }, count: { type: 'string' }, range: { type: 'string', multiple: true }, 'min-agreement': { type: 'string' }, 'max-delta': { type: 'string' },
        'ignore-agreement': { type: 'boolean', default: false }, version: { type: 'string' }, 'models-dir': { type: 'string' }, 'dry-run': { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new ModelToolError(USAGE);
    const choice = <T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined => {
      if (value === undefined) return undefined;
      if (!(allowed as readonly string[]).includes(value)) throw new ModelToolError(`--${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
      return value as T;
    };
    const sparsity = Number(values.sparsity);
    if (!(values.sparsity!.trim() !== '' && sparsity > 0 && sparsity < 1)) throw new ModelToolError(`--sparsity must be a number in (0, 1), e.g. 0.5, got ${JSON.stringify(values.sparsity)}`);
    if (values.structured && values.storage !== undefined) throw new ModelToolError('--storage is for unstructured pruning (structured pruning leaves dense, smaller tensors)');
    if (values.count !== undefined && !(/^\d+$/.test(values.count) && Number(values.count) >= 1)) throw new ModelToolError(`--count must be an integer ≥ 1, got ${JSON.stringify(values.count)}`);
    const norm = choice('norm', values.norm, ['l1', 'l2'] as const);
    const storage = choice('storage', values.storage, ['auto', 'scatter', 'sparse', 'dense'] as const);
    const minAgreement = fractionFlag('min-agreement', values['min-agreement']);
    const maxRelativeDelta = fractionFlag('max-delta', values['max-delta']);
    const modelsRoot = values['models-dir'] ?? process.env.EDGEINFER_MODELS_DIR;
    const report = await pruneModel({
      model: positionals[0]!,
      sparsity,
      structured: values.structured ?? false,
      ...(norm ? { norm } : {}),
      ...(storage ? { storage } : {}),
      ...(values.samples !== undefined ? { samples: values.samples } : {}),
      ...(values.count !== undefined ? { count: Number(values.count) } : {}),
      ranges: parseRanges(values.range),
      ...(minAgreement !== undefined ? { minAgreement } : {}),
      ...(maxRelativeDelta !== undefined ? { maxRelativeDelta } : {}),
      ignoreAgreement: values['ignore-agreement'] ?? false,
      ...(values.version !== undefined ? { version: values.version } : {}),
      ...(modelsRoot ? { modelsRoot } : {}),
      dryRun: values['dry-run'] ?? false,
      progress: (line) => printError(line),
    });
    for (const line of formatPruneReport(report)) print(line);
    return finishDerivedVersion('prune', report, values['ignore-agreement'] ?? false, print, printError);
  } catch (error) {
    return derivedVersionFailure('prune', error, printError);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await pruneMain(process.argv.slice(2));
