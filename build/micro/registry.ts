// The full table of ops the micro compiler emits code for (If is handled by the compiler itself).
import { ML_FEATURE_EMITTERS } from './ops-ml-features.ts';
import { ML_EMITTERS } from './ops-ml.ts';
import { NN_EMITTERS } from './ops-nn.ts';
import { RNN_EMITTERS } from './ops-rnn.ts';
import { SVM_EMITTERS } from './ops-svm.ts';
import { BASE_EMITTERS, type OpEmitter } from './ops.ts';

/** Registry key (see opKey) → emitter. Anything else fails to compile. */
export const OP_EMITTERS: Readonly<Record<string, OpEmitter>> = { ...BASE_EMITTERS, ...NN_EMITTERS, ...RNN_EMITTERS, ...ML_EMITTERS, ...ML_FEATURE_EMITTERS, ...SVM_EMITTERS };

/** Ops the micro engine compiles, for error messages and docs. */
export const SUPPORTED_OPS: readonly string[] = [...Object.keys(OP_EMITTERS), 'If'].sort();
