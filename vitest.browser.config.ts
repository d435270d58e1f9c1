import { defineConfig } from 'vitest/config';

/**
 * `npm run test:browser`: the demo in headless Chromium (test/browser). Separate from `npm test`,
 * which must pass on a machine without a browser.
 */
export default defineConfig({
  test: {
    name: 'browser',
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
