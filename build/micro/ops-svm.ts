// ai.onnx.ml SVMClassifier and SVMRegressor (libsvm's models as sklearn-onnx writes SVC, NuSVC,
// SVR, OneClassSVM and LinearSVC). The support vectors stay data (one flat Float32Array); the
// kernel is chosen at compile time and written as one loop per row, and the one-vs-one vote,
// libsvm's pairwise-coupling probabilities and the post transforms follow onnxruntime's CPU
// kernels (svmclassifier.cc, svmregressor.cc, ml_common.h), the reference the tests use.
import { literal, type Dim, type Value } from './module-writer.ts';
import { classLabels, featureInput, ML_TRANSFORMS, numbers, postTransformOf, staticCount, text, TRANSFORM_CODE, type PostTransform } from './ops-ml.ts';
import { attr, requireDtype, type OpContext, type OpEmitter } from './ops.ts';

const KERNELS = ['LINEAR', 'POLY', 'RBF', 'SIGMOID'] as const;
type Kernel = (typeof KERNELS)[number];

interface KernelSpec {
  kind: Kernel;
  gamma: number;
  coef0: number;
  degree: number;
}

function kernelOf(ctx: OpContext): KernelSpec {
  const kind = text(ctx, 'kernel_type', 'LINEAR');
  if (!(KERNELS as readonly string[]).includes(kind)) ctx.fail('unsupported_op', `kernel_type "${kind}" is not one of ${KERNELS.join(', ')}`);
  // onnxruntime refuses a model without kernel_params (sklearn-onnx always writes it).
  const params = numbers(attr(ctx, 'kernel_params')) ?? ctx.fail('invalid_model', 'kernel_params is missing (onnxruntime refuses the model without it; [gamma, coef0, degree])');
  return { kind: kind as Kernel, gamma: Math.fround(params[0] ?? 0), coef0: Math.fround(params[1] ?? 0), degree: Math.fround(params[2] ?? 0) };
}

function floatList(ctx: OpContext, name: string): number[] {
  return (numbers(attr(ctx, name)) ?? []).map(Math.fround);
}

/**
 * Lines computing K[v] = kernel(x row, support vector v) for v < vectors. RBF in float32 steps
 * as onnxruntime's loop; the dot-product kernels in doubles rounded once (onnxruntime uses a
 * GEMM whose summation order is its own).
 */
function kernelLines(k: KernelSpec, x: Value, sv: string, K: string, vectors: number, features: number): string[] {
  const f = 'Math.fround';
  const lines = [`for (let v = 0; v < ${vectors}; v++) {`, `  const b = v * ${features};`, `  let s = 0;`];
  if (k.kind === 'RBF') {
    lines.push(`  for (let j = 0; j < ${features}; j++) {`, `    const d = ${f}(${f}(${x.buf}[row + j]) - ${sv}[b + j]);`, `    s = ${f}(s + ${f}(d * d));`, `  }`);
    lines.push(`  ${K}[v] = ${f}(Math.exp(${f}(${literal(-k.gamma)} * s)));`);
  } else {
    lines.push(`  for (let j = 0; j < ${features}; j++) s += ${f}(${x.buf}[row + j]) * ${sv}[b + j];`);
    if (k.kind === 'LINEAR') lines.push(`  ${K}[v] = ${f}(s);`);
    else {
      const affine = `${f}(${f}(${literal(k.gamma)} * ${f}(s)) + ${literal(k.coef0)})`;
      if (k.kind === 'SIGMOID') lines.push(`  ${K}[v] = ${f}(Math.tanh(${affine}));`);
      else {
        lines.push(`  const a = ${affine};`);
        lines.push(`  ${K}[v] = ${k.degree === 2 ? `${f}(a * a)` : k.degree === 3 ? `${f}(${f}(a * a) * a)` : `${f}(Math.pow(a, ${literal(k.degree)}))`};`);
      }
    }
  }
  lines.push('}');
  return lines;
}

/** onnxruntime's one-vs-one scores and votes (SVMClassifier::ComputeImpl), then libsvm's pairwise coupling (ml_common.h), in float32 steps. */
const SVM_HELPERS = `// One-vs-one decision values of an SVC, as onnxruntime computes them: scores[pair], votes[class].
function svmPairwise(K, coef, vectors, starts, counts, rho, classes, scores, votes) {
  votes.fill(0);
  let pair = 0;
  for (let i = 0; i < classes - 1; i++) {
    for (let j = i + 1; j < classes; j++) {
      let sum = 0;
      const rowJ = (j - 1) * vectors;
      for (let m = starts[i], end = m + counts[i]; m < end; m++) sum += Math.fround(coef[rowJ + m] * K[m]);
      const rowI = i * vectors;
      for (let m = starts[j], end = m + counts[j]; m < end; m++) sum += Math.fround(coef[rowI + m] * K[m]);
      sum += rho[pair];
      scores[pair++] = Math.fround(sum);
      votes[sum > 0 ? i : j]++;
    }
  }
  let best = 0;
  for (let c = 1; c < classes; c++) if (votes[c] > votes[best]) best = c;
  return best;
}

// Pairwise probabilities r (k x k) from the decision values, as onnxruntime (libsvm's sigmoid_predict, clamped).
function svmPairProbabilities(scores, probA, probB, k, r) {
  const f = Math.fround;
  let pair = 0;
  for (let i = 0; i < k - 1; i++) {
    for (let j = i + 1; j < k; j++, pair++) {
      const v = f(f(scores[pair] * probA[pair]) + probB[pair]);
      const s = f(1 / f(1 + f(Math.exp(-Math.abs(v)))));
      const logistic = v < 0 ? f(1 - s) : s;
      let p = f(1 - logistic);
      p = Math.min(Math.max(p, 1e-7), f(1 - 1e-7));
      r[i * k + j] = p;
      r[j * k + i] = f(1 - p);
    }
  }
}

// libsvm's multiclass_probability (Wu, Lin and Weng's method 2) in float32, as onnxruntime's copy.
function svmCoupling(k, r, p, Q, Qp) {
  const f = Math.fround;
  const eps = f(0.005 / k);
  Q.fill(0);
  for (let i = 0; i < k; i++) {
    p[i] = f(1 / k);
    for (let j = 0; j < i; j++) {
      Q[i * k + i] = f(Q[i * k + i] + f(r[j * k + i] * r[j * k + i]));
      Q[i * k + j] = Q[j * k + i];
    }
    for (let j = i + 1; j < k; j++) {
      Q[i * k + i] = f(Q[i * k + i] + f(r[j * k + i] * r[j * k + i]));
      Q[i * k + j] = f(-f(r[j * k + i] * r[i * k + j]));
    }
  }
  for (let loop = 0; loop < 100; loop++) {
    let pQp = 0;
    for (let i = 0; i < k; i++) {
      let q = 0;
      for (let j = 0; j < k; j++) q = f(q + f(Q[i * k + j] * p[j]));
      Qp[i] = q;
      pQp = f(pQp + f(p[i] * q));
    }
    let maxError = 0;
    for (let i = 0; i < k; i++) {
      const e = Math.abs(f(Qp[i] - pQp));
      if (e > maxError) maxError = e;
    }
    if (maxError < eps) break;
    for (let i = 0; i < k; i++) {
      const diff = f(f(-Qp[i] + pQp) / Q[i * k + i]);
      p[i] = f(p[i] + diff);
      const d1 = f(1 + diff);
      pQp = f(f(f(pQp + f(diff * f(f(diff * Q[i * k + i]) + f(2 * Qp[i])))) / d1) / d1);
      for (let j = 0; j < k; j++) {
        Qp[j] = f(f(Qp[j] + f(diff * Q[i * k + j])) / d1);
        p[j] = f(p[j] / d1);
      }
    }
  }
}`;

function checkFeatureCount(ctx: OpContext, features: Dim, expected: number, what: string): void {
  if (typeof features === 'number') {
    if (features !== expected) ctx.fail('invalid_model', `${what} have ${expected} features but the input has ${features}`);
  } else {
    ctx.w.emitScoped(`if (${features} !== ${expected}) fail("bad_input", "node " + ${ctx.w.nodeRef(ctx.node.name)} + ": ${what} have ${expected} features but the input has " + ${features});`);
  }
}

const svmClassifier: OpEmitter = (ctx) => {
  const { x, rows, features } = featureInput(ctx);
  const labels = classLabels(ctx);
  const classes = labels.count;
  if (classes < 2) ctx.fail('invalid_model', `${classes} class label; an SVMClassifier needs 2 or more`);
  const perClass = numbers(attr(ctx, 'vectors_per_class')) ?? [];
  const coefficients = floatList(ctx, 'coefficients');
  const rho = floatList(ctx, 'rho');
  const supportVectors = floatList(ctx, 'support_vectors');
  const probA = floatList(ctx, 'prob_a');
  const probB = floatList(ctx, 'prob_b');
  const post = postTransformOf(ctx);
  if (coefficients.length === 0) ctx.fail('invalid_model', 'coefficients are empty');
  if (probA.length !== probB.length) ctx.fail('invalid_model', `prob_a has ${probA.length} values, prob_b ${probB.length}`);
  const vectors = perClass.reduce((a, b) => a + b, 0);
  const pairs = (classes * (classes - 1)) / 2;
  const w = ctx.w;
  w.helper('mlTransform', ML_TRANSFORMS);
  const label = ctx.node.outputs[0] ? ctx.output(0, 'int64', [rows]) : undefined;
  const labelValues = labels.ints ? w.constant(Float64Array.from(labels.ints)) : '';
  const F = staticCount(ctx, features);
  const kernel = kernelOf(ctx);

  if (vectors === 0) {
    // liblinear layout: one weight row per class, every class offset by rho[0] (as onnxruntime).
    if (coefficients.length % classes !== 0) ctx.fail('invalid_model', `coefficients has ${coefficients.length} values, not a multiple of the ${classes} classes`);
    checkFeatureCount(ctx, F, coefficients.length / classes, 'the weight rows');
    if (rho.length < 1) ctx.fail('invalid_model', 'rho needs one value');
    const allPositive = coefficients.every((v) => v >= 0);
    const z = ctx.output(1, 'float32', [rows, classes]);
    const W = w.constant(Float32Array.from(coefficients));
    const acc = w.scratch(classes);
    // onnxruntime's ChooseClass for two classes without probabilities.
    const binaryPick = classes === 2 && probA.length === 0 ? `${allPositive ? 'best >= 0.5' : 'best > 0'} ? 1 : k` : 'k';
    w.emit(
      `for (let n = 0; n < ${rows}; n++) {`,
      `  const row = n * ${F};`,
      `  for (let c = 0; c < ${classes}; c++) {`,
      `    let s = 0;`,
      `    for (let j = 0; j < ${F}; j++) s += Math.fround(${x.buf}[row + j]) * ${W}[c * ${F} + j];`,
      `    ${acc}[c] = Math.fround(Math.fround(s) + ${literal(rho[0]!)});`,
      `  }`,
      `  let k = 0;`,
      `  for (let c = 1; c < ${classes}; c++) if (${acc}[c] > ${acc}[k]) k = c;`,
      `  const best = ${acc}[k];`,
      ...(label ? [`  ${label.buf}[n] = ${labelValues}[${binaryPick}];`] : []),
      `  mlTransform(${TRANSFORM_CODE[post]}, ${acc}, ${classes});`,
      `  for (let c = 0; c < ${classes}; c++) ${z.buf}[n * ${classes} + c] = ${acc}[c];`,
      `}`,
    );
    return;
  }

  if (perClass.length !== classes) ctx.fail('invalid_model', `vectors_per_class has ${perClass.length} entries for ${classes} classes`);
  if (perClass.some((c) => !Number.isInteger(c) || c < 0)) ctx.fail('invalid_model', 'vectors_per_class holds a negative or fractional count');
  if (supportVectors.length % vectors !== 0 || supportVectors.length === 0) ctx.fail('invalid_model', `support_vectors has ${supportVectors.length} values for ${vectors} vectors`);
  const svFeatures = supportVectors.length / vectors;
  checkFeatureCount(ctx, F, svFeatures, 'the support vectors');
  if (coefficients.length < (classes - 1) * vectors) ctx.fail('invalid_model', `coefficients has ${coefficients.length} values, (classes - 1) × vectors is ${(classes - 1) * vectors}`);
  if (rho.length < pairs) ctx.fail('invalid_model', `rho has ${rho.length} values for ${pairs} class pairs`);
  const proba = probA.length > 0;
  if (proba && probA.length < pairs) ctx.fail('invalid_model', `prob_a has ${probA.length} values for ${pairs} class pairs`);
  if (!proba && classes === 2 && post === 'PROBIT') {
    ctx.fail('unsupported_op', 'PROBIT on a two-class SVMClassifier without probabilities: onnxruntime writes one score and leaves the other unset; use post_transform NONE');
  }
  w.checkElements(supportVectors.length, 'the support vectors');
  w.helper('svmPairwise', SVM_HELPERS);
  const sv = w.constant(Float32Array.from(supportVectors));
  const coef = w.constant(Float32Array.from(coefficients));
  const rhoArr = w.constant(Float32Array.from(rho));
  const starts: number[] = [];
  perClass.reduce((at, c) => (starts.push(at), at + c), 0);
  const startArr = w.constant(Int32Array.from(starts));
  const countArr = w.constant(Int32Array.from(perClass));
  const K = w.scratch(vectors);
  const scores = w.scratch(pairs);
  const votes = w.scratch(classes);
  const width = proba ? classes : classes > 2 ? pairs : 2;
  const z = ctx.output(1, 'float32', [rows, width]);
  const finish: string[] = [];
  if (proba) {
    const r = w.scratch(classes * classes);
    const p = w.scratch(classes);
    const Q = w.scratch(classes * classes);
    const Qp = w.scratch(classes);
    const A = w.constant(Float32Array.from(probA));
    const B = w.constant(Float32Array.from(probB));
    finish.push(
      `svmPairProbabilities(${scores}, ${A}, ${B}, ${classes}, ${r});`,
      `svmCoupling(${classes}, ${r}, ${p}, ${Q}, ${Qp});`,
      `mlTransform(${TRANSFORM_CODE[post]}, ${p}, ${classes});`,
      `for (let c = 0; c < ${classes}; c++) ${z.buf}[n * ${classes} + c] = ${p}[c];`,
    );
  } else if (classes > 2) {
    // onnxruntime returns the one-vs-one decision values, one column per class pair.
    finish.push(`mlTransform(${TRANSFORM_CODE[post]}, ${scores}, ${pairs});`, `for (let c = 0; c < ${pairs}; c++) ${z.buf}[n * ${pairs} + c] = ${scores}[c];`);
  } else {
    // Measured on onnxruntime 1.30: NONE [-s, s], LOGISTIC [logistic(-s), logistic(s)], the others [1 - s, s].
    const [neg, pos] = post === 'NONE' ? ['-s', 's'] : post === 'LOGISTIC' ? ['mlLogistic(-s)', 'mlLogistic(s)'] : ['Math.fround(1 - s)', 's'];
    finish.push(`const s = ${scores}[0];`, `${z.buf}[n * 2] = ${neg};`, `${z.buf}[n * 2 + 1] = ${pos};`);
  }
  w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${F};`,
    ...kernelLines(kernel, x, sv, K, vectors, F).map((l) => `  ${l}`),
    `  const k = svmPairwise(${K}, ${coef}, ${vectors}, ${startArr}, ${countArr}, ${rhoArr}, ${classes}, ${scores}, ${votes});`,
    ...(label ? [`  ${label.buf}[n] = ${labelValues}[k];`] : []),
    ...finish.map((l) => `  ${l}`),
    `}`,
  );
};

const svmRegressor: OpEmitter = (ctx) => {
  const { x, rows, features } = featureInput(ctx);
  // onnxruntime registers SVMRegressor for float only.
  requireDtype(ctx, x, ['float32'], 'the input');
  const vectors = typeof attr(ctx, 'n_supports') === 'number' ? (attr(ctx, 'n_supports') as number) : 0;
  const coefficients = floatList(ctx, 'coefficients');
  const rho = floatList(ctx, 'rho');
  const supportVectors = floatList(ctx, 'support_vectors');
  const oneClass = attr(ctx, 'one_class') === 1;
  const post: PostTransform = postTransformOf(ctx);
  if (post !== 'NONE') ctx.fail('unsupported_op', `post_transform "${post}": onnxruntime's SVMRegressor ignores it, so the answer would depend on the engine; use NONE`);
  if (coefficients.length === 0) ctx.fail('invalid_model', 'coefficients are empty');
  if (rho.length < 1) ctx.fail('invalid_model', 'rho needs one value');
  const F = staticCount(ctx, features);
  const kernel = kernelOf(ctx);
  const w = ctx.w;
  const y = ctx.output(0, 'float32', [rows, 1]);
  const sign = oneClass ? (v: string) => `(${v} > 0 ? 1 : -1)` : (v: string) => v;
  if (!Number.isInteger(vectors) || vectors < 0) ctx.fail('invalid_model', `n_supports is ${vectors}`);
  if (vectors === 0) {
    checkFeatureCount(ctx, F, coefficients.length, 'the coefficients');
    const W = w.constant(Float32Array.from(coefficients));
    w.emit(
      `for (let n = 0; n < ${rows}; n++) {`,
      `  const row = n * ${F};`,
      `  let s = 0;`,
      `  for (let j = 0; j < ${F}; j++) s += ${x.buf}[row + j] * ${W}[j];`,
      `  const v = Math.fround(Math.fround(s) + ${literal(rho[0]!)});`,
      `  ${y.buf}[n] = ${sign('v')};`,
      `}`,
    );
    return;
  }
  if (supportVectors.length !== vectors * F) ctx.fail('invalid_model', `support_vectors has ${supportVectors.length} values, n_supports × features is ${vectors * F}`);
  if (coefficients.length < vectors) ctx.fail('invalid_model', `coefficients has ${coefficients.length} values for ${vectors} support vectors`);
  w.checkElements(supportVectors.length, 'the support vectors');
  const sv = w.constant(Float32Array.from(supportVectors));
  const coef = w.constant(Float32Array.from(coefficients.slice(0, vectors)));
  const K = w.scratch(vectors);
  w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${F};`,
    ...kernelLines(kernel, x, sv, K, vectors, F).map((l) => `  ${l}`),
    `  let s = 0;`,
    `  for (let v = 0; v < ${vectors}; v++) s += ${K}[v] * ${coef}[v];`,
    `  const v = Math.fround(Math.fround(s) + ${literal(rho[0]!)});`,
    `  ${y.buf}[n] = ${sign('v')};`,
    `}`,
  );
};

export const SVM_EMITTERS: Record<string, OpEmitter> = {
  'ai.onnx.ml.SVMClassifier': svmClassifier,
  'ai.onnx.ml.SVMRegressor': svmRegressor,
};
