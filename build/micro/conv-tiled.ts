// The register-tiled direct convolution as shared module functions: one function per kernel
// geometry (taps, strides, dilations, lanes, tile width, padding, bias), the channel counts,
// spatial dims and fused activation its arguments. Convs of one geometry (a net's 1x1 layers, its
// depthwise 1x5 ones) call the same function, so a fresh process parses and compiles it once and
// V8 optimises it after the first few calls instead of interpreting a copy per layer; the
// module carries one copy of the unrolled tile bodies instead of one per conv. Each tile shape
// is a function of its own (`<name>_<lanes>x<pixels>`), called once per output row.

import type { ModuleWriter } from './module-writer.ts';

/** Output channels per tile. */
export const TILE_LANES = 4;
/** Output positions per tile along a row (fewer when a static row is narrower). */
export const TILE_PIXELS = 8;

/** What a tiled conv function is specialised on; everything else is an argument. */
export interface TiledConvGeometry {
  KH: number; KW: number; sh: number; sw: number; dh: number; dw: number;
  /** Output channels per tile (TILE_LANES, or the group's channel count when fewer). */
  lanes: number;
  /** Pixels per full tile. */
  P: number;
  /** Tiles run down a column (kernels taller than wide); needs the padded width and output width static. */
  vertical: { Wp: number; OW: number } | undefined;
  /** The input is copied into a zero-bordered buffer first; `refill`: zero it each call (its dims vary). */
  padded: boolean;
  refill: boolean;
  bias: boolean;
}

/**
 * The arguments of every tiled conv function, in order; `act` is the fused activation's code
 * (`convActivationCode`, 0 for none).
 */
export const TILED_CONV_PARAMS = ['x', 'wt', 'bias', 'y', 'src', 'N', 'C', 'group', 'Cg', 'Mg', 'H', 'W', 'Hp', 'Wp', 'OH', 'OW', 'pt', 'pl', 'act'] as const;

/** A function name that spells the geometry (equal geometries share it). */
export function tiledConvName(g: TiledConvGeometry): string {
  const v = g.vertical ? `_v${g.vertical.Wp}x${g.vertical.OW}` : '';
  return `convTile${g.KH}x${g.KW}_s${g.sh}x${g.sw}_d${g.dh}x${g.dw}_l${g.lanes}p${g.P}${v}${g.padded ? (g.refill ? '_pz' : '_p') : ''}${g.bias ? '_b' : ''}`;
}

/** The module helper applying fused activations in place: `convAct(y, i, n, code)`. */
export const CONV_ACT = 'convAct';

/** Per module, the activation chains (statements over a local `t`) in code order (code = index + 1). */
const activationChains = new WeakMap<ModuleWriter, string[]>();

/**
 * The code of a fused activation chain (statements over a local `t`, see ops-nn.ts
 * fusedActivationSteps; '' is 0, none) and (re)defines the module's `convAct` with a case per
 * chain. Why a run-time code rather than the chain inlined into each store: a net's convs of
 * one geometry with different activations (MobileNetV3: none, Relu, HardSwish) then share
 * one tiled function, so a fresh process optimises one copy instead of three (TurboFan took
 * 24-79 ms per copy of the 1x1 one); the activation runs as one pass over a block's outputs
 * right after the block wrote them (still in cache).
 */
export function convActivationCode(w: ModuleWriter, steps: string): number {
  let chains = activationChains.get(w);
  if (!chains) activationChains.set(w, (chains = []));
  let code = steps === '' ? 0 : chains.indexOf(steps) + 1;
  if (steps !== '' && code === 0) code = chains.push(steps);
  w.helper(CONV_ACT, convActSource(chains));
  return code;
}

/** One loop per chain, so each loop body is specialised (the switch runs once per block). */
function convActSource(chains: readonly string[]): string {
  return [
    '// Fused activations of a conv block, in place, each step rounded to float32 as its own op would (build/micro/conv-tiled.ts).',
    `function ${CONV_ACT}(y, i, n, code) {`,
    '  const end = i + n;',
    '  switch (code) {',
    ...chains.map((steps, k) => `    case ${k + 1}: for (let q = i; q < end; q++) { let t = y[q]; ${steps} y[q] = t; } return;`),
    '  }',
    '}',
    // Every case at import (see warmCalls): a case first taken after V8 optimised the function deoptimised it.
    ...(chains.length > 0 ? [`for (let r = 0, t = new Float32Array(8).fill(0.5); r < ${CONV_ACT_WARM_CALLS}; r++) ${CONV_ACT}(t, 0, 8, 1 + (r % ${chains.length}));`] : []),
  ].join('\n');
}

/**
 * The source of the function for `g`: per batch item the padded copy (when padded), per group
 * the output channels in blocks of `lanes` (the rest one at a time), per output row tiles of P
 * pixels, then 4, then 1; in a tile, input channels in a loop and the kernel taps unrolled with
 * constant offsets, each weight loaded once for the tile's pixels and each input value once
 * for its lanes (taps of one row that overlap share their loads).
 */
export function tiledConvSource(name: string, g: TiledConvGeometry): string {
  const KK = g.KH * g.KW;
  const vertical = g.vertical;
  const rowOff = (kh: number) => (kh === 0 ? '' : ` + r${kh}`);
  const plane = (l: number) => (l === 0 ? '' : ` + o${l}`);
  const pos = vertical ? 'oh' : 'ow';
  const extent = vertical ? 'OH' : 'OW';
  const tile = (n: number, P: number): string[] => {
    const acc = (l: number, p: number) => `a${l}_${p}`;
    const init: string[] = [];
    for (let l = 0; l < n; l++) for (let p = 0; p < P; p++) init.push(`${acc(l, p)} = ${g.bias ? (p === 0 ? `bias[m0${l === 0 ? '' : ` + ${l}`}]` : acc(l, 0)) : '0'}`);
    const body: string[] = [];
    const loaded = new Set<string>();
    const xval = (kh: number, kw: number, p: number): string => {
      let name: string;
      let at: string;
      if (vertical) {
        const off = (kh * g.dh + p * g.sh) * vertical.Wp + kw * g.dw;
        name = `x_${off}`;
        at = off === 0 ? '' : ` + ${off}`;
      } else {
        const col = kw * g.dw + p * g.sw;
        name = `x${kh}_${col}`;
        at = `${rowOff(kh)}${col === 0 ? '' : ` + ${col}`}`;
      }
      if (!loaded.has(name)) {
        loaded.add(name);
        body.push(`const ${name} = src[xb${at}];`);
      }
      return name;
    };
    for (let kh = 0; kh < g.KH; kh++) {
      for (let kw = 0; kw < g.KW; kw++) for (let p = 0; p < P; p++) xval(kh, kw, p);
      for (let kw = 0; kw < g.KW; kw++) {
        const t = kh * g.KW + kw;
        for (let l = 0; l < n; l++) {
          const k = t * n + l;
          body.push(`const w${t}_${l} = wt[j${k === 0 ? '' : ` + ${k}`}];`);
          for (let p = 0; p < P; p++) body.push(`${acc(l, p)} += w${t}_${l} * ${xval(kh, kw, p)};`);
        }
      }
    }
    const pixelOut = (p: number) => (p === 0 ? '' : vertical ? ` + ${p * vertical.OW}` : ` + ${p}`);
    const stores: string[] = [];
    for (let l = 0; l < n; l++) for (let p = 0; p < P; p++) stores.push(`y[yo${pixelOut(p)}${plane(l)}] = ${acc(l, p)};`);
    return [
      `let ${init.join(', ')};`,
      `for (let ci = 0, xb = xr + ${vertical ? `oh * ${g.sh * vertical.Wp}` : `ow * ${g.sw}`}, j = wb; ci < Cg; ci++, xb += HpWp, j += ${KK * n}) {`,
      `  ${body.join(' ')}`,
      `}`,
      `const yo = yr + ${vertical ? `oh * ${vertical.OW}` : 'ow'};`,
      stores.join(' '),
    ];
  };
  const indent = (lines: string[], by: string) => lines.map((l) => by + l);
  // Each tile shape is its own small function looping over the tiles of one row (column):
  // TurboFan's time grows faster than linearly with a function's size, and one function with
  // every tile body unrolled took 45-80 ms to optimise, on the same cores as the first inference.
  const kernelName = (n: number, P: number) => `${name}_${n}x${P}`;
  const KERNEL_PARAMS = `src, xr, wt, wb, y, yr, bias, m0, Cg, HpWp, Wp, OHW, ${pos}, end`;
  const kernel = (n: number, P: number): string => {
    const locals = [
      ...Array.from({ length: n - 1 }, (_, l) => `o${l + 1} = ${l + 1} * OHW`),
      ...(vertical ? [] : Array.from({ length: g.KH - 1 }, (_, k) => `r${k + 1} = ${(k + 1) * g.dh} * Wp`)),
    ];
    return [
      `function ${kernelName(n, P)}(${KERNEL_PARAMS}) {`,
      ...(locals.length > 0 ? [`  const ${locals.join(', ')};`] : []),
      `  for (; ${pos}${P > 1 ? ` + ${P - 1}` : ''} < end; ${pos} += ${P}) {`,
      ...indent(tile(n, P), '    '),
      '  }',
      `  return ${pos};`,
      '}',
    ].join('\n');
  };
  const tileWidths = [g.P, ...(g.P > 4 ? [4] : []), ...(g.P > 1 ? [1] : [])];
  const blockSizes = g.lanes > 1 ? [g.lanes, 1] : [1];
  const block = (n: number, m0: string): string[] => {
    const call = (P: number, from: string) => `${kernelName(n, P)}(src, xr, wt, wb, y, yr, bias, m0, Cg, HpWp, Wp, OHW, ${from}, ${extent})`;
    return [
      `const m0 = ${m0};`,
      `const yb = (n * M + m0) * OHW;`,
      `const wb = wg + mb * taps;`,
      ...(vertical
        ? [`for (let ow = 0; ow < OW; ow++) {`, `  const xr = xg + ow * ${g.sw};`, `  const yr = yb + ow;`]
        : [`for (let oh = 0; oh < OH; oh++) {`, `  const xr = xg + oh * ${g.sh === 1 ? 'Wp' : `${g.sh} * Wp`};`, `  const yr = yb + oh * OW;`]),
      ...tileWidths.map((P, k) => (k === 0 ? `  let ${pos} = ${call(P, '0')};` : k < tileWidths.length - 1 ? `  ${pos} = ${call(P, pos)};` : `  ${call(P, pos)};`)),
      `}`,
      // The block's n output planes are contiguous; the store rounded them to float32 as the op does.
      `if (act !== 0) ${CONV_ACT}(y, yb, ${n === 1 ? 'OHW' : `${n} * OHW`}, act);`,
    ];
  };
  const locals = [
    'M = group * Mg',
    'HW = H * W',
    'HpWp = Hp * Wp',
    'OHW = OH * OW',
    `taps = Cg * ${KK}`,
    `main = Mg - Mg % ${g.lanes}`,
  ];
  return [
    ...blockSizes.flatMap((n) => tileWidths.map((P) => kernel(n, P))),
    `function ${name}(${TILED_CONV_PARAMS.join(', ')}) {`,
    `  const ${locals.join(', ')};`,
    ...(g.padded && g.refill ? ['  src.fill(0, 0, C * HpWp);'] : []),
    '  for (let n = 0; n < N; n++) {',
    ...(g.padded
      ? [
          '    for (let ci = 0; ci < C; ci++) {',
          '      for (let h = 0; h < H; h++) {',
          '        const from = (n * C + ci) * HW + h * W;',
          '        const to = ci * HpWp + (h + pt) * Wp + pl;',
          '        for (let i = 0; i < W; i++) src[to + i] = x[from + i];',
          '      }',
          '    }',
          '    const xn = 0;',
        ]
      : ['    const xn = n * C * HW;']),
    '    for (let g = 0; g < group; g++) {',
    '      const xg = xn + g * Cg * HpWp;',
    '      const wg = g * Mg * taps;',
    `      for (let mb = 0; mb < main; mb += ${g.lanes}) {`,
    ...indent(block(g.lanes, 'g * Mg + mb'), '        '),
    '      }',
    ...(g.lanes > 1 ? ['      for (let mb = main; mb < Mg; mb++) {', ...indent(block(1, 'g * Mg + mb'), '        '), '      }'] : []),
    '    }',
    '  }',
    '}',
    ...warmCalls(name),
  ].join('\n');
}

/** Calls of a tiled conv function at import (see warmCalls); of convAct, its warm-up calls. */
export const TILED_CONV_WARM_CALLS = 32;
const CONV_ACT_WARM_CALLS = 300;

/**
 * Calls at import that do no work (no channels, no pixels) but run the function's entry code
 * and its batch loop: V8 allocates a function's type feedback only after a few calls, so code
 * that ran once in the first inference, before that, or never before an on-stack replacement
 * compiled the function mid-call (the batch loop's increment, with one batch item) had no
 * feedback, and the optimised code deoptimised there and was compiled again (MobileNetV3's 5x5
 * depthwise function: 30 ms of TurboFan again, its next layers interpreted meanwhile). Calls
 * on real scratch data (every tile path) measured slower in fresh processes: they spent ~40 ms
 * at import and the first inference gained less.
 */
function warmCalls(name: string): string[] {
  const args = ['e', 'e', 'e', 'e', 'e', 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return [`for (let r = 0, e = new Float32Array(1); r < ${TILED_CONV_WARM_CALLS}; r++) ${name}(${args.join(', ')});`];
}
