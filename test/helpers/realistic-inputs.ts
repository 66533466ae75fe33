// Real-ish inputs for the third-party image and audio graphs, shared by the micro parity tests
// and the quantize tests: seeded by the caller's Random, so each test keeps its own sequence.
import type { Random } from '../build/micro/property-harness.ts';

/** A text-line-like image normalised as PaddleOCR does ((x / 255 - 0.5) / 0.5): dark strokes on light paper, maybe upside down. */
export function textLine(r: Random, h: number, w: number, batch: number): Float32Array {
  const out = new Float32Array(batch * 3 * h * w);
  for (let b = 0; b < batch; b++) {
    const flip = r.bool();
    const paper = 180 + r.next() * 75;
    const ink = r.next() * 80;
    const strokes = Array.from({ length: r.int(3, 12) }, () => ({ x: r.int(0, w - 1), width: r.int(2, 18), top: r.int(4, h / 2), bottom: r.int(h / 2, h - 4) }));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const yy = flip ? h - 1 - y : y;
        const onStroke = strokes.some((s) => x >= s.x && x < s.x + s.width && yy >= s.top && yy <= (s.bottom + s.top) / 2 + (s.bottom - s.top) * 0.25);
        const v = (onStroke ? ink : paper) + (r.next() - 0.5) * 30;
        for (let c = 0; c < 3; c++) out[((b * 3 + c) * h + y) * w + x] = (Math.min(255, Math.max(0, v)) / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}

/** One call's audio at 16 kHz in [-1, 1]: tone mixtures with noise (speech-like), pure noise or near silence. */
export function vadAudio(r: Random, n: number): Float32Array {
  const kind = r.int(0, 2);
  const level = kind === 2 ? 0.001 : 0.05 + r.next() * 0.6;
  const f = [100 + r.next() * 300, 400 + r.next() * 2000, 1000 + r.next() * 3000];
  const phase = r.next() * 1000;
  return Float32Array.from({ length: n }, (_, i) => {
    const t = (phase + i) / 16000;
    const voiced = kind === 0 ? f.reduce((acc, fk, k) => acc + Math.sin(2 * Math.PI * fk * t) / (k + 1), 0) * 0.5 * (1 + Math.sin(2 * Math.PI * 4 * t)) : 0;
    return Math.max(-1, Math.min(1, level * (voiced + (r.next() * 2 - 1) * (kind === 0 ? 0.2 : 1))));
  });
}

/** 5x7 bitmap glyphs (rows top to bottom) of letters with ascenders, descenders and digits: what makes text upright. */
const GLYPHS: string[][] = [
  ['01110', '10001', '10001', '11111', '10001', '10001', '10001'], // A
  ['11111', '10000', '10000', '11110', '10000', '10000', '11111'], // E
  ['10001', '10001', '10001', '11111', '10001', '10001', '10001'], // H
  ['10000', '10000', '10000', '10000', '10000', '10000', '11111'], // L
  ['11110', '10001', '10001', '11110', '10000', '10000', '10000'], // P
  ['11110', '10001', '10001', '11110', '10100', '10010', '10001'], // R
  ['11111', '00100', '00100', '00100', '00100', '00100', '00100'], // T
  ['11111', '10000', '10000', '11110', '10000', '10000', '10000'], // F
  ['10000', '10000', '10110', '11001', '10001', '10001', '11110'], // b
  ['00001', '00001', '01101', '10011', '10001', '10001', '01111'], // d
  ['00000', '01111', '10001', '10001', '01111', '00001', '01110'], // g
  ['00000', '11110', '10001', '10001', '11110', '10000', '10000'], // p
  ['00000', '10001', '10001', '10001', '01111', '00001', '01110'], // y
  ['01110', '10001', '00001', '00010', '00100', '01000', '11111'], // 2
  ['00010', '00110', '01010', '10010', '11111', '00010', '00010'], // 4
  ['11111', '00001', '00010', '00100', '01000', '01000', '01000'], // 7
  ['01110', '10001', '10001', '01111', '00001', '00010', '01100'], // 9
];

/**
 * A line of rendered text (bitmap glyphs at 3-5 px per dot, words apart), upright or rotated
 * 180°, normalised as PaddleOCR does: the text-direction classifier is decisive on these
 * (most fp32 scores under 0.1 or over 0.9), where textLine's strokes leave it near 0.5.
 */
export function renderedTextLine(r: Random, h: number, w: number): Float32Array {
  const out = new Float32Array(3 * h * w);
  const rotated = r.bool();
  const paper = 180 + r.next() * 75;
  const ink = r.next() * 80;
  const dot = r.int(3, 5);
  const top = Math.floor((h - 7 * dot) / 2) + r.int(-3, 3);
  const ink01 = new Uint8Array(h * w);
  for (let x = r.int(0, 10); x + 5 * dot < w; x += 6 * dot) {
    if (r.bool(0.15)) continue; // a space
    const glyph = GLYPHS[r.int(0, GLYPHS.length - 1)]!;
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (glyph[gy]![gx] !== '1') continue;
        for (let dy = 0; dy < dot; dy++) for (let dx = 0; dx < dot; dx++) {
          const y = top + gy * dot + dy;
          if (y >= 0 && y < h) ink01[y * w + x + gx * dot + dx] = 1;
        }
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const on = ink01[rotated ? (h - 1 - y) * w + (w - 1 - x) : y * w + x];
      const v = (on ? ink : paper) + (r.next() - 0.5) * 30;
      for (let c = 0; c < 3; c++) out[(c * h + y) * w + x] = (Math.min(255, Math.max(0, v)) / 255 - 0.5) / 0.5;
    }
  }
  return out;
}
