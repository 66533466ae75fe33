// Benchmark (a measurement, not a test) behind the README's text-normalisation numbers: ROC AUC
// of spam-edge and spam-regional, v1 (email-hash v1: text as written) and v2 (email-hash v2:
// normalised), on the test split with every message body disguised one way (headers as they
// are): fullwidth forms, a zero-width space between letters, mathematical bold, Cyrillic
// lookalikes for a/e/o. Each version is served alone by `npm start`'s service (its own temp
// repository holding that version, no regional tier, no cache between disguises mattering:
// every disguised text is new; a body limit large enough for the longest disguised message),
// POST /v1/predict with the text; the AUC is of the spam score.
// Usage: npm run bench:disguise-auc. Last line: one JSON object.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODELS_ROOT } from '../adapters/node/fs-model-source.ts';
import { createLocalService } from '../adapters/node/local-service.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { rocAuc } from '../models/training/metrics.ts';
import { machineLine } from './stats.ts';

const MODELS = ['spam-edge', 'spam-regional'];
const VERSIONS = ['1', '2'];

/** Fullwidth forms (U+FF01..U+FF5E) of printable ASCII, ideographic space for space. */
const fullwidth = (s: string) => s.replace(/[!-~ ]/g, (c) => (c === ' ' ? '\u3000' : String.fromCharCode(c.charCodeAt(0) + 0xfee0)));
/** Mathematical bold (U+1D400 A, U+1D41A a) of ASCII letters. */
const mathBold = (s: string) => s.replace(/[A-Za-z]/g, (c) => String.fromCodePoint((c <= 'Z' ? 0x1d400 - 65 : 0x1d41a - 97) + c.charCodeAt(0)));
const DISGUISES: Record<string, (body: string) => string> = {
  fullwidth,
  'zero-width split': (s) => s.replace(/(\w)(?=\w)/g, '$1\u200B'),
  'mathematical bold': mathBold,
  'Cyrillic lookalikes': (s) => s.replace(/a/g, '\u0430').replace(/e/g, '\u0435').replace(/o/g, '\u043E'),
};

/** The message with its body (after the first blank line) disguised. */
function disguiseBody(text: string, disguise: (s: string) => string): string {
  const at = text.search(/\r?\n\r?\n/);
  return at < 0 ? disguise(text) : text.slice(0, at) + text.slice(at).replace(/^(\r?\n\r?\n)([\s\S]*)$/, (_m, gap: string, body: string) => gap + disguise(body));
}

const test = loadSplits().test;
const labels = test.map((m) => m.label);
console.log(await machineLine());
const auc: Record<string, Record<string, number>> = {};
for (const version of VERSIONS) {
  const root = mkdtempSync(join(tmpdir(), `edgeinfer-disguise-v${version}-`));
  for (const model of MODELS) cpSync(join(DEFAULT_MODELS_ROOT, model, version), join(root, model, version), { recursive: true });
  const service = createLocalService({ modelsRoot: root, regional: { kind: 'none' }, telemetry: false, features: false, micro: false, config: { maxBodyBytes: 4 * 1024 * 1024 } });
  try {
    for (const model of MODELS) {
      const row: Record<string, number> = {};
      for (const [name, disguise] of Object.entries({ none: (s: string) => s, ...DISGUISES })) {
        const scores: number[] = [];
        for (const message of test) {
          const response = await service.fetch(new Request('http://bench/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, text: disguiseBody(message.text, disguise) }) }));
          const answer = (await response.json()) as { scores?: Record<string, number>; model?: { version: string }; error?: unknown };
          if (response.status !== 200 || !answer.scores || answer.model?.version !== version) throw new Error(`${model}@${version} ${name}: HTTP ${response.status} ${JSON.stringify(answer).slice(0, 200)}`);
          scores.push(answer.scores.spam as number);
        }
        row[name] = Number(rocAuc(scores, labels).toFixed(4));
      }
      auc[`${model}@${version}`] = row;
      console.log(`${model}@${version}  ${Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(3)}`).join('  ')}`);
    }
  } finally {
    await service.close();
    rmSync(root, { recursive: true, force: true });
  }
}
console.log(JSON.stringify({ bench: 'disguise-auc', messages: test.length, auc }));
