// Browser tests call `chromiumPath()` once: without Chromium they skip and say so loudly;
// under CI (CI=true) a missing Chromium fails the run instead (.ci/run installs it).
import { existsSync } from 'node:fs';

/** Debian's chromium package (EDGEINFER_CHROMIUM overrides). */
export const CHROMIUM_PATH = process.env.EDGEINFER_CHROMIUM || '/usr/bin/chromium';

/** Flags for a quiet, hermetic headless run (no network chatter, no GPU, no sandbox as root). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The executable, or null (with a warning) when absent outside CI; throws in CI. */
export function chromiumPath(suite: string): string | null {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const reason = `Chromium not found at ${CHROMIUM_PATH}`;
  if (process.env.CI === 'true') throw new Error(`${suite}: ${reason}; CI must run browser tests (apt-get install -y chromium)`);
  console.warn(`\n*** SKIPPING ${suite}: ${reason}. Install it with: apt-get update && apt-get install -y chromium ***\n`);
  return null;
}
