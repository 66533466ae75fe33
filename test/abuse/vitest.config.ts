// `npm run test:abuse`: the #17 replay suite (test/abuse/*.abuse.ts), kept out of `npm test`
// (whose regression tests cover the same fixes case by case), bounded in time.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/abuse/**/*.abuse.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
