// ai.onnx.ml ops (classical models). Keys carry the domain: "ai.onnx.ml.<Op>".
import type { OpEmitter } from './ops.ts';

export const ML_EMITTERS: Record<string, OpEmitter> = {};
