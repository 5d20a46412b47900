import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests run in parallel; tests against real peers (OBS, SRT, PostgreSQL,
// Chromium) run one file at a time so that a 2-core machine gives them stable timing.
// Embedded relays stay on loopback in tests (the relay processes inherit it); a user's default is
// every interface. Tests of other addresses set their own in a network namespace they create.
const env = { TELEMY_LOCAL_RELAY_BIND_HOST: '127.0.0.1' };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts'],
          exclude: ['packages/*/test/**/*.int.test.ts'],
          testTimeout: 20_000,
          env,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.int.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          env,
        },
      },
    ],
  },
});
