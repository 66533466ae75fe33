// `npm run model:add -- <file.onnx> --name <name> [--version N] [--labels a,b] [--activation
// none|softmax|sigmoid] [--output <tensor>] [--tokenizer tokenizer.json] [--role edge|regional|any]
// [--engine auto|micro|ort] [--batch N] [--shape input=1,576] [--warmup-shape input=1,1280] [--models-dir DIR] [--force]`:
// copies a graph into the model repository as models/<name>/<version>/model.onnx, reads its
// signature from the graph, writes a model.json (README "model.json") the user can edit, and
// prints what it found and what is still the user's to decide. A bad file or option ends in
// one line naming the problem, never a stack trace.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Tokenizer } from '@huggingface/tokenizers';
import { DEFAULT_MODELS_ROOT } from '../../adapters/node/fs-model-source.ts';
import { formatTensor, GraphReadError, readGraphSignature, type GraphSignature, type GraphTensor } from './onnx-signature.ts';
import { ModelToolError, SERVED_DTYPES, validModelName } from './tool-errors.ts';
import { exists, nextVersion } from './new-version.ts';

/** Options of {@link addModel} (the CLI's flags). */
export interface AddModelOptions {
  file: string;
  name: string;
  version?: string;
  labels?: string[];
  activation?: 'none' | 'softmax' | 'sigmoid';
  /** Output tensor the labels describe (default: the first output). */
  output?: string;
  tokenizer?: string;
  /** Longest token sequence (hf-tokenizer maxLength); default the graph's fixed length, else 128. */
  maxLength?: number;
  role?: 'edge' | 'regional' | 'any';
  engine?: 'auto' | 'micro' | 'ort';
  /** batch.max: the largest leading dimension accepted where the graph's is variable. */
  batch?: number;
  /**
   * Declared input shapes, input name → shape (-1 keeps a dim variable): written as the
   * input's model.json `shape` in place of the graph's, so requests are held to it and the micro
   * engine compiles the graph specialised on it (symbolic dims fixed, shape-dependent Ifs folded).
   * Fixed dims are also what generated warmup runs, so a fully fixed shape needs no warmup shape.
   */
  shapes?: Record<string, number[]>;
  /** Concrete warmup shapes for inputs with variable dims: input name → shape. */
  warmupShapes?: Record<string, number[]>;
  modelsRoot?: string;
  /** Replace an existing models/<name>/<version>/. */
  force?: boolean;
}

/** What {@link addModel} wrote and found. */
export interface AddedModel {
  dir: string;
  manifest: Record<string, unknown>;
  signature: GraphSignature;
  /** What the graph told us, one line each. */
  found: string[];
  /** Decisions left to the user (edit model.json), one line each. */
  todo: string[];
}

const HF_PRODUCTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
const ACTIVATION_OPS = new Set(['Sigmoid', 'Softmax', 'LogSoftmax']);

function checkServable(t: GraphTensor, where: string): void {
  if (!(SERVED_DTYPES as readonly string[]).includes(t.dtype)) {
    throw new ModelToolError(`${where} "${t.name}" is ${t.dtype}; edgeinfer serves tensors of ${SERVED_DTYPES.join(', ')}`);
  }
}

/** Copies the graph (and tokenizer) into the repository and writes its model.json. */
export async function addModel(options: AddModelOptions): Promise<AddedModel> {
  if (!validModelName(options.name)) throw new ModelToolError(`--name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got ${JSON.stringify(options.name ?? '')}`);
  if (options.version !== undefined && !validModelName(options.version)) throw new ModelToolError(`--version must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} (e.g. 1), got ${JSON.stringify(options.version)}`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(options.file));
  } catch (error) {
    throw new ModelToolError(`cannot read ${options.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let signature: GraphSignature;
  try {
    signature = readGraphSignature(bytes);
  } catch (error) {
    if (error instanceof GraphReadError) throw new ModelToolError(`${options.file}: ${error.message}`);
    throw error;
  }
  if (signature.externalData.length) {
    throw new ModelToolError(`${options.file}: ${signature.externalData.length} initializer(s) keep their weights in external files (e.g. "${signature.externalData[0]}"); save the model with weights inside the .onnx first`);
  }
  if (!signature.inputs.length) throw new ModelToolError(`${options.file}: the graph has no inputs`);
  signature.inputs.forEach((t) => checkServable(t, 'input'));
  signature.outputs.forEach((t) => checkServable(t, 'output'));

  const root = resolve(options.modelsRoot ?? DEFAULT_MODELS_ROOT);
  const version = options.version ?? (await nextVersion(root, options.name));
  const dir = join(root, options.name, version);
  if ((await exists(dir)) && !options.force) throw new ModelToolError(`${dir} exists already; choose another --version or pass --force to replace it`);

  const found: string[] = [];
  const todo: string[] = [];
  found.push(`graph: IR ${signature.irVersion}, opsets ${signature.opsets.join(' ')}${signature.producer ? `, from ${signature.producer}` : ''}; ` +
    `${signature.ops.reduce((n, o) => n + o.count, 0)} nodes (${signature.ops.map((o) => `${o.op}×${o.count}`).join(' ')})`);

  // Tokenizer: the text products feed the inputs named after them (or the only integer input).
  let tokenizerJson: unknown;
  const textInputs = new Map<string, string>();
  if (options.tokenizer) {
    try {
      tokenizerJson = JSON.parse(await readFile(options.tokenizer, 'utf8'));
      new Tokenizer(tokenizerJson as object, {}).encode('model:add');
    } catch (error) {
      throw new ModelToolError(`--tokenizer ${options.tokenizer}: not a tokenizer.json @huggingface/tokenizers can run (${(error as Error).message})`);
    }
    for (const input of signature.inputs) if ((HF_PRODUCTS as readonly string[]).includes(input.name)) textInputs.set(input.name, input.name);
    if (!textInputs.size) {
      const ints = signature.inputs.filter((t) => t.dtype === 'int64' || t.dtype === 'int32');
      if (ints.length !== 1) {
        throw new ModelToolError(`--tokenizer: no input is named ${HF_PRODUCTS.join(', ')} and the graph has ${ints.length} integer inputs; rename the graph's inputs or leave --tokenizer out`);
      }
      textInputs.set(ints[0]!.name, 'input_ids');
    }
  }

  // Declared shapes: the graph's rank, its fixed dims kept, its variable ones fixed or left -1.
  const shapes = options.shapes ?? {};
  for (const [name, shape] of Object.entries(shapes)) {
    const input = signature.inputs.find((t) => t.name === name);
    if (!input) throw new ModelToolError(`--shape names "${name}", which is not an input (inputs: ${signature.inputs.map((t) => t.name).join(', ')})`);
    if (textInputs.has(name)) throw new ModelToolError(`--shape ${name}: the tokenizer feeds this input; its length is --max-length`);
    if (shape.length !== input.shape.length || shape.some((d, i) => !(d === -1 || (Number.isInteger(d) && d > 0)) || (input.shape[i] !== -1 && input.shape[i] !== d))) {
      throw new ModelToolError(`--shape ${name}=${shape.join(',')} does not fit the graph's [${input.shape.join(',')}] (same rank, fixed dims as the graph has them, positive sizes or -1 for the variable ones)`);
    }
  }
  const inputs = signature.inputs.map((t) => {
    const text = textInputs.get(t.name);
    return { name: t.name, dtype: t.dtype, shape: shapes[t.name] ?? t.shape, source: text ? 'text' : 'request', ...(text ? { text } : {}), optional: false };
  });
  for (const input of inputs) {
    const graphShape = signature.inputs.find((t) => t.name === input.name)!.shape;
    const declared = shapes[input.name] ? `  (declared by --shape; the graph has [${graphShape.join(',')}])` : '';
    found.push(`input  ${formatTensor(input)}  ← ${input.source === 'text' ? `text (${input.text})` : 'the request'}${declared}`);
  }
  for (const output of signature.outputs) {
    const op = signature.producedBy.get(output.name);
    found.push(`output ${formatTensor(output)}${op ? `  ← ${op}` : ''}`);
  }

  // Batch: a variable leading dim on the request inputs accepts up to batch.max rows.
  const variableLeading = inputs.filter((t) => t.shape[0] === -1).map((t) => t.name);
  const batchMax = options.batch ?? 1;
  if (!Number.isInteger(batchMax) || batchMax < 1) throw new ModelToolError(`--batch must be an integer ≥ 1, got ${options.batch}`);
  if (variableLeading.length) {
    if (options.batch === undefined) todo.push(`leading dim of ${variableLeading.join(', ')} is variable: batch.max is 1 (one row per request); raise it with --batch N or in model.json "batch"`);
    else found.push(`batch: up to ${batchMax} rows per request`);
  }
  const warmupShapes = options.warmupShapes ?? {};
  for (const name of Object.keys(warmupShapes)) {
    const input = inputs.find((t) => t.name === name);
    if (!input) throw new ModelToolError(`--warmup-shape names "${name}", which is not an input (inputs: ${signature.inputs.map((t) => t.name).join(', ')})`);
    const shape = warmupShapes[name]!;
    if (shape.length !== input.shape.length || shape.some((d, i) => !(Number.isInteger(d) && d > 0) || (input.shape[i] !== -1 && input.shape[i] !== d))) {
      throw new ModelToolError(`--warmup-shape ${name}=${shape.join(',')} does not fit its declared shape [${input.shape.join(',')}] (positive integers, fixed dims as declared)`);
    }
  }
  for (const input of inputs) {
    if (input.source !== 'request') continue;
    // A scalar is usually a setting (a sample rate, a threshold): warmup would send 0.
    if (input.shape.length === 0) todo.push(`input ${input.name} is a scalar every request must send, and warmup sends 0; if it has a usual value (a sample rate), give it "optional": true, "default": <value> in model.json`);
    const inner = input.shape.map((d, i) => ({ d, i, name: signature.inputs.find((t) => t.name === input.name)!.dimNames[i] })).filter((x) => x.d === -1 && x.i > 0);
    if (inner.length && !warmupShapes[input.name]) {
      todo.push(`input ${input.name} has variable dims (${inner.map((x) => `dim ${x.i}${x.name && x.name !== '?' ? ` "${x.name}"` : ''}`).join(', ')}): warmup runs them at a small default size; if the model takes one size, declare it with --shape ${input.name}=${input.shape.map((d) => (d === -1 ? 'N' : d)).join(',')} (requests are held to it, micro compiles for it, warmup runs it); if the graph takes several but needs more than the default (a convolution window), add a warmup request with --warmup-shape`);
    }
  }

  // Output meaning: labels make a classification of one output; without labels every output is returned raw.
  let output: Record<string, unknown> = { kind: 'raw' };
  if (options.labels) {
    const labels = options.labels;
    if (labels.length < 2 || new Set(labels).size !== labels.length || labels.some((l) => !l)) {
      throw new ModelToolError(`--labels needs at least two distinct non-empty labels, got ${JSON.stringify(labels.join(','))}`);
    }
    const tensor = options.output ? signature.outputs.find((t) => t.name === options.output) : signature.outputs[0];
    if (!tensor) throw new ModelToolError(`--output "${options.output}" is not an output of the graph (outputs: ${signature.outputs.map((t) => t.name).join(', ')})`);
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'float64' && tensor.dtype !== 'float16') {
      throw new ModelToolError(`output ${tensor.name} is ${tensor.dtype}: a classification reads float scores; leave --labels out to return it raw`);
    }
    const units = tensor.shape.at(-1) ?? 1;
    if (units !== -1 && units !== labels.length && !(units === 1 && labels.length === 2)) {
      throw new ModelToolError(`output ${tensor.name} holds ${units} value${units === 1 ? '' : 's'} per row but --labels names ${labels.length}` +
        (units === 1 ? ' (one sigmoid unit is a two-label classifier: --labels negative,positive)' : ''));
    }
    const op = signature.producedBy.get(tensor.name);
    let activation = options.activation;
    if (!activation) {
      if (op && ACTIVATION_OPS.has(op)) {
        activation = 'none';
        found.push(`activation: none (output ${tensor.name} comes from ${op}: already probabilities)`);
      } else {
        activation = units === 1 ? 'sigmoid' : 'softmax';
        todo.push(`output ${tensor.name} comes from ${op ?? 'no node'}, not an activation: taken as logits with activation "${activation}"; set --activation none if it already holds probabilities`);
      }
    }
    if (op === 'LogSoftmax' && activation === 'none') todo.push(`output ${tensor.name} is a LogSoftmax: its values are log-probabilities, and confidence reads them as they are; consider --activation softmax`);
    output = { kind: 'classification', tensor: tensor.name, labels, activation };
    found.push(`meaning: classification of ${tensor.name} into [${labels.join(', ')}]`);
    if (units === -1) todo.push(`output ${tensor.name}'s last dim is variable: check it holds ${labels.length} scores per row`);
    if (signature.outputs.length > 1) found.push(`other outputs (${signature.outputs.filter((t) => t !== tensor).map((t) => t.name).join(', ')}) are run but not read`);
  } else {
    todo.push('no --labels: every output is answered raw (tensors as they are); for a classifier pass --labels a,b (and --output <tensor> when there are several)');
  }
  const role = options.role ?? 'any';
  if (!options.role) todo.push('role "any": edge and regional builds both embed it; --role edge or --role regional to choose');

  const manifest: Record<string, unknown> = {
    name: options.name,
    version,
    file: 'model.onnx',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    description: `added by model:add from ${basename(options.file)}`,
    engine: options.engine ?? 'auto',
    role,
    inputs,
  };
  if (options.tokenizer) {
    const idsInput = signature.inputs.find((t) => textInputs.get(t.name) === 'input_ids') ?? signature.inputs.find((t) => textInputs.has(t.name))!;
    const fixedLength = idsInput.shape.length >= 2 && (idsInput.shape.at(-1) ?? -1) > 0 ? (idsInput.shape.at(-1) as number) : undefined;
    const maxLength = options.maxLength ?? fixedLength ?? 128;
    if (fixedLength !== undefined && maxLength !== fixedLength) throw new ModelToolError(`--max-length ${maxLength}: the graph's ${idsInput.name} has a fixed length of ${fixedLength}`);
    manifest.preprocessing = { id: 'hf-tokenizer', version: 1, params: { file: 'tokenizer.json', maxLength, padding: fixedLength ? 'max_length' : 'none', truncation: true } };
    found.push(`text: hf-tokenizer v1 from ${basename(options.tokenizer)} → ${[...textInputs.values()].join(', ')}; at most ${maxLength} tokens${fixedLength ? ', padded to that length (the graph fixes it)' : ''}`);
    if (!options.maxLength && !fixedLength) todo.push('hf-tokenizer maxLength is 128 (truncation on): set preprocessing.params.maxLength to what the model was trained with');
  }
  manifest.outputs = signature.outputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
  manifest.output = output;
  manifest.batch = { max: batchMax };
  if (Object.keys(warmupShapes).length) {
    manifest.warmup = [{ inputs: Object.fromEntries(Object.entries(warmupShapes).map(([name, shape]) => [name, { data: [0], shape, fill: true }])) }];
    found.push(`warmup: ${Object.entries(warmupShapes).map(([n, s]) => `${n} zeros [${s.join(',')}]`).join(', ')}`);
  }
  manifest.cascade = { threshold: null };
  manifest.cache = { ttlSeconds: 3600 };

  if (options.force) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await copyFile(options.file, join(dir, 'model.onnx'));
  if (options.tokenizer) await writeFile(join(dir, 'tokenizer.json'), `${JSON.stringify(tokenizerJson)}\n`);
  await writeFile(join(dir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, manifest, signature, found, todo };
}

/** `input=1,576` values of a repeatable flag (`--shape`, `--warmup-shape`): input name → dims. */
function parseShapes(flag: string, values: readonly string[] | undefined): Record<string, number[]> {
  const out: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
  for (const value of values ?? []) {
    const at = value.lastIndexOf('=');
    const text = value.slice(at + 1);
    // An empty list is a scalar ([]): `--shape sr=`.
    const dims = text === '' ? [] : text.split(/[,x]/).map(Number);
    if (at <= 0 || dims.some((d) => !Number.isInteger(d))) throw new ModelToolError(`--${flag} must look like input=1,1280, got ${JSON.stringify(value)}`);
    const name = value.slice(0, at);
    if (Object.hasOwn(out, name)) throw new ModelToolError(`--${flag} names "${name}" twice`);
    out[name] = dims;
  }
  return out;
}

const USAGE = 'usage: npm run model:add -- <file.onnx> --name <name> [--version N] [--labels a,b] [--activation none|softmax|sigmoid] [--output <tensor>] ' +
  '[--tokenizer tokenizer.json] [--max-length N] [--role edge|regional|any] [--engine auto|micro|ort] [--batch N] [--shape input=1,576]... [--warmup-shape input=1,1280]... [--models-dir DIR] [--force]';

/** The CLI: parses flags, runs addModel, prints; returns the exit code. */
export async function modelAddMain(argv: string[], print: (line: string) => void = console.log, printError: (line: string) => void = console.error): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' }, version: { type: 'string' }, labels: { type: 'string' }, activation: { type: 'string' }, output: { type: 'string' },
        tokenizer: { type: 'string' }, 'max-length': { type: 'string' }, role: { type: 'string' }, engine: { type: 'string' }, batch: { type: 'string' },
        shape: { type: 'string', multiple: true }, 'warmup-shape': { type: 'string', multiple: true }, 'models-dir': { type: 'string' }, force: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1 || !values.name) throw new ModelToolError(USAGE);
    const choice = <T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined => {
      if (value === undefined) return undefined;
      if (!(allowed as readonly string[]).includes(value)) throw new ModelToolError(`--${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
      return value as T;
    };
    const integer = (flag: string, value: string | undefined): number | undefined => {
      if (value === undefined) return undefined;
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new ModelToolError(`--${flag} must be an integer ≥ 1, got ${JSON.stringify(value)}`);
      return Number(value);
    };
    const activation = choice('activation', values.activation, ['none', 'softmax', 'sigmoid'] as const);
    const role = choice('role', values.role, ['edge', 'regional', 'any'] as const);
    const engine = choice('engine', values.engine, ['auto', 'micro', 'ort'] as const);
    const batch = integer('batch', values.batch);
    const maxLength = integer('max-length', values['max-length']);
    const added = await addModel({
      file: positionals[0]!,
      name: values.name,
      ...(values.version !== undefined ? { version: values.version } : {}),
      ...(values.labels !== undefined ? { labels: values.labels.split(',').map((l) => l.trim()) } : {}),
      ...(activation ? { activation } : {}),
      ...(values.output !== undefined ? { output: values.output } : {}),
      ...(values.tokenizer !== undefined ? { tokenizer: values.tokenizer } : {}),
      ...(maxLength !== undefined ? { maxLength } : {}),
      ...(role ? { role } : {}),
      ...(engine ? { engine } : {}),
      ...(batch !== undefined ? { batch } : {}),
      shapes: parseShapes('shape', values.shape),
      warmupShapes: parseShapes('warmup-shape', values['warmup-shape']),
      ...(values['models-dir'] !== undefined ? { modelsRoot: values['models-dir'] } : process.env.EDGEINFER_MODELS_DIR ? { modelsRoot: process.env.EDGEINFER_MODELS_DIR } : {}),
      force: values.force ?? false,
    });
    const rel = relative(process.cwd(), added.dir);
    const where = rel && !rel.startsWith('..') ? rel : added.dir;
    print(`added ${added.manifest.name}@${added.manifest.version} → ${where}/ (model.onnx, sha256 ${String(added.manifest.sha256).slice(0, 16)}…, model.json)`);
    for (const line of added.found) print(`  ${line}`);
    if (added.todo.length) {
      print(`still yours to decide (edit ${where}/model.json):`);
      for (const line of added.todo) print(`  - ${line}`);
    }
    print(`next: npm run model:check -- ${added.manifest.name}`);
    return 0;
  } catch (error) {
    // One line for the user: option errors and file problems are ModelToolErrors; anything
    // else (a full disk, a permission) is still reported by its message alone.
    const message = error instanceof Error ? error.message : String(error);
    printError(`model:add: ${message}`);
    return error instanceof ModelToolError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await modelAddMain(process.argv.slice(2));
