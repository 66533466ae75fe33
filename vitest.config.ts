import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Engines load multi-MB WASM and native sessions; forks keep them isolated per file.
    pool: 'forks',
  },
});
