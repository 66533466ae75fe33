// Where the Deno binary used for Netlify conformance and the cold-start bench lives. It
// comes from the registry package @deno/linux-x64-glibc (an optional dependency: the
// `deno` wrapper package lists every platform's binary, and a lock file that cannot
// resolve them all breaks `npm ci`); elsewhere a `deno` on PATH is used.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Absolute path of a runnable deno binary, or null when none is installed. */
export function denoBinary(): string | null {
  try {
    const packageJson = createRequire(import.meta.url).resolve('@deno/linux-x64-glibc/package.json');
    const binary = join(dirname(packageJson), 'deno');
    if (existsSync(binary)) return binary;
  } catch {
    // Not installed on this platform: fall back to PATH.
  }
  try {
    return execFileSync('which', ['deno'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
