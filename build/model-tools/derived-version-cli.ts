// The end of a command that derives a model version (quantize, prune): the refusal, where the
// version was written, the next step, and the exit code of a failure, said the same way by both.
import { relative } from 'node:path';
import { ModelToolError } from './tool-errors.ts';

export interface DerivedVersionOutcome {
  readonly source: { readonly name: string };
  /** Why the tool would not write it (agreement under the threshold, nothing to gain). */
  readonly refusal?: string;
  /** Where it was written (absent on a dry run or a refusal). */
  readonly written?: { readonly dir: string; readonly version: string; readonly sha256: string };
}

/** Prints the outcome after the tool's own report and returns the exit code (1 when refused). */
export function finishDerivedVersion(tool: string, outcome: DerivedVersionOutcome, ignoreAgreement: boolean, print: (line: string) => void, printError: (line: string) => void): number {
  if (outcome.refusal && !ignoreAgreement) {
    printError(`${tool}: not written: ${outcome.refusal} (--ignore-agreement writes it anyway)`);
    return 1;
  }
  if (outcome.written) {
    const rel = relative(process.cwd(), outcome.written.dir);
    print(`wrote ${outcome.source.name}@${outcome.written.version} → ${rel && !rel.startsWith('..') ? rel : outcome.written.dir}/ (sha256 ${outcome.written.sha256.slice(0, 16)}…)${outcome.refusal ? ' despite the disagreement (--ignore-agreement)' : ''}`);
    print(`next: npm run model:check -- ${outcome.source.name}`);
  } else {
    print('dry run: nothing written');
  }
  return 0;
}

/** One line for a failure; 2 for a usage or model error the user can fix, 1 otherwise. */
export function derivedVersionFailure(tool: string, error: unknown, printError: (line: string) => void): number {
  const message = error instanceof Error ? error.message : String(error);
  printError(`${tool}: ${message.split('\n')[0]}`);
  return error instanceof ModelToolError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
}

/** A `--min-agreement`/`--max-delta` style flag: a number in [0, 1], or undefined when absent. */
export function fractionFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(value.trim() !== '' && n >= 0 && n <= 1)) throw new ModelToolError(`--${flag} must be a number in [0, 1], got ${JSON.stringify(value)}`);
  return n;
}
