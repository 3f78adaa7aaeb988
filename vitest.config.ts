import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['tegami-source'] },
  ssr: { resolve: { conditions: ['tegami-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/{src,test}/**/*.test.ts', 'test/**/*.test.ts'],
    // Each file gets its own database and subject prefix (packages/testing), so files run in parallel.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
