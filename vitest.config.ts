import { randomBytes } from 'node:crypto';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

/**
 * Two projects, one `vitest run`: the Node suite, and the Worker suite (test/worker) inside workerd
 * through @cloudflare/vitest-pool-workers. The Worker project's globalSetup starts the fake Graph + CDN
 * on loopback in Node; the pool passes its address to the Worker as the same variables the README
 * documents, and the tests drive the fake through its control endpoint.
 */
const WORKER_TEST_SECRET = randomBytes(32).toString('hex');
const WORKER_TEST_APP_SECRET = randomBytes(16).toString('hex');

export default defineConfig({
  test: {
    // The Workers suite logs a JSON line per request; show console output only for failing tests.
    silent: 'passed-only',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/worker/**', 'node_modules/**'],
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => {
            const fake = inject('fakeUpstream');
            return {
              main: './src/worker.ts',
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  WHATSAPP_TOKEN: fake.token,
                  // A second business account, as Workers secrets name it (README: Several business accounts).
                  WHATSAPP_ACCOUNTS: 'acme',
                  WHATSAPP_TOKEN_ACME: fake.secondToken,
                  JWT_SECRET: WORKER_TEST_SECRET,
                  GRAPH_API_URL: fake.origin,
                  MEDIA_HOSTS: '127.0.0.1',
                  // Small enough that a few-MB file takes the streaming path.
                  CACHE_MAX_BYTES: String(4 * 1024 * 1024),
                  CACHE_MAX_ITEM_BYTES: String(1024 * 1024),
                  UPSTREAM_TIMEOUT_MS: '5000',
                  GRAPH_MAX_RETRIES: '1',
                  LOG_LEVEL: 'info',
                  FAKE_CONTROL_URL: fake.control,
                  WHATSAPP_APP_SECRET: WORKER_TEST_APP_SECRET,
                },
                // The Worker as producer and consumer of its own prefetch queue (miniflare's local
                // Queues), as README "Cloudflare Workers" configures it in wrangler.toml.
                queueProducers: { PREFETCH_QUEUE: { queueName: 'media-prefetch' } },
                queueConsumers: { 'media-prefetch': { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 4 } },
              },
            };
          }),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['test/support/worker-global-setup.ts'],
        },
      },
    ],
  },
});
