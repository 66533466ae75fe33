// Prometheus' own parser and linter (`promtool check metrics`, Debian package `prometheus`):
// tests hand it our exposition text. Without promtool they skip loudly; under CI=true a
// missing promtool fails (.ci/run installs it).
import { spawnSync } from 'node:child_process';

/** True when promtool runs; otherwise warns (or throws under CI). */
export function promtoolAvailable(suite: string): boolean {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const reason = 'promtool is not installed (apt-get install --no-install-recommends prometheus)';
  if (process.env.CI === 'true') throw new Error(`${suite}: ${reason}; CI must run this test`);
  console.warn(`\n*** SKIPPING ${suite}: ${reason} ***\n`);
  return false;
}

/** Runs `promtool check metrics` on the text: exit status and what it printed. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
