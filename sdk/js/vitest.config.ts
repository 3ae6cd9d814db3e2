import { defineConfig } from 'vitest/config';

// Four projects: `unit` (jsdom, fast, no server), `react` (the components, jsdom;
// the server-rendering test in Node), `browser` (Node, drives Debian's
// Chromium through playwright-core against the real IdP started by the global setup) and
// `pack` (the packed tarball installed into an empty project; needs the build).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'jsdom',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'react',
          environment: 'jsdom',
          include: ['test/react/**/*.test.ts'],
          setupFiles: ['test/react/setup.ts'],
        },
      },
      {
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'pack',
          environment: 'node',
          include: ['test/pack/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
    ],
  },
});
