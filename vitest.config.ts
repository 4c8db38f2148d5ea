import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.git/**', '**/.xenoform/**'],
    // e2e tests start real processes (the CLI, hosts, guests): be generous
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // child processes and native timers behave better in forked workers than in threads
    pool: 'forks',
  },
});
