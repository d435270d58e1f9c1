/**
 * Node entrypoint: the only place that knows it runs on Node. Reads `.env` (when present) and the
 * environment once, builds the portable app with Node's fetch, clock and hashing, and serves it.
 */
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createApp } from './app.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { describeError } from './logger.js';
import { openFileJournal, type FileJournal } from './runtime/file-journal.js';
import { loadDotEnv } from './runtime/node-env.js';
import { createNodeSha256 } from './runtime/node-sha256.js';
import { createPinoLogger } from './runtime/pino-logger.js';
import { readAccounts } from './runtime/accounts-file.js';
import { answerClientErrors } from './runtime/client-error.js';
import { openNodeStore } from './runtime/node-store.js';
import { createPrometheusMetrics } from './runtime/prometheus-metrics.js';
import { VERSION } from './version.js';

function readConfig(): Config {
  // The same .env reading as `npm run token`: values already in the environment win.
  loadDotEnv();
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) configurationError(error);
    throw error;
  }
}

function configurationError(error: ConfigError): never {
  console.error(`whatsapp-media-proxy: configuration error: ${error.message}`);
  process.exit(1);
}

/**
 * Accepted prefetch jobs live beside the store (on the same persistent volume), or under `data/` in
 * the working directory when the store is not a directory (S3, none): the journal needs a local disk.
 */
function journalDir(config: Config): string {
  return config.store.kind === 'directory' ? join(config.store.path, '.prefetch-journal') : 'data/prefetch-journal';
}

async function openJournal(dir: string): Promise<FileJournal> {
  try {
    return await openFileJournal(dir);
  } catch (error) {
    console.error(`whatsapp-media-proxy: cannot open the prefetch journal: ${describeError(error).message}`);
    process.exit(1);
  }
}

const config = readConfig();
const logger = createPinoLogger(config.logLevel);
let accounts;
try {
  accounts = readAccounts(config);
} catch (error) {
  if (error instanceof ConfigError) configurationError(error);
  throw error;
}
const prometheus = createPrometheusMetrics();
const store = await openNodeStore(config.store, { clock: systemClock, logger, metrics: prometheus.metrics, fetch: globalThis.fetch, timeoutMs: config.upstreamTimeoutMs }).catch((error: unknown) => {
  if (error instanceof ConfigError) configurationError(error);
  throw error;
});
const storeFill = store?.fill?.bind(store);
if (storeFill) prometheus.observeStore(storeFill);
const prefetchJournal = await openJournal(journalDir(config));
const { app, memory, prefetchQueue, accounts: registry, loader } = createApp({
  config,
  accounts,
  fetch: globalThis.fetch,
  clock: systemClock,
  logger,
  createSha256: createNodeSha256,
  version: VERSION,
  metrics: prometheus.metrics,
  metricsEndpoint: prometheus.scrape,
  ...(store ? { store } : {}),
  prefetchJournal,
});
prometheus.observeCache(memory);
if (prefetchQueue) {
  prometheus.observePrefetchQueue(prefetchQueue);
  // Jobs accepted before a crash or restart run again now, before any new one is taken.
  await prefetchQueue.start();
}

const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  logger.info({ address: info.address, port: info.port, version: VERSION, store: store?.kind ?? 'none', ...storeFill?.() }, `listening on http://${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`);
});

answerClientErrors(server as Server, { logger, metrics: prometheus.metrics });

process.on('unhandledRejection', (error) => logger.error({ error: describeError(error) }, 'unhandled rejection'));

let stopping = false;
function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  const http = server as Server;
  logger.info({ signal }, 'shutting down: no new connections; waiting for in-flight responses');
  const force = setTimeout(() => {
    logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout reached; closing remaining connections');
    http.closeAllConnections();
    process.exit(0);
  }, config.shutdownTimeoutMs);
  force.unref();
  // Jobs still queued stay in the journal and run at the next start.
  // A file whose last byte went out is still being committed to the store (fsync, rename): let that
  // finish, or the next start would download it again.
  http.close(() => {
    void Promise.all([loader.drain(), prefetchJournal.close()]).finally(() => {
      logger.info({}, 'stopped');
      process.exit(0);
    });
  });
  // close() only drops connections idle right now. A keep-alive connection whose response is still
  // streaming would stay open after that response until the keep-alive timeout (5 s), holding up the
  // exit; sweep connections as they turn idle instead.
  http.closeIdleConnections();
  setInterval(() => http.closeIdleConnections(), 50).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
// Reload WHATSAPP_ACCOUNTS_FILE without dropping a request: running requests keep their account;
// a bad file keeps the accounts in force.
process.on('SIGHUP', () => {
  try {
    const next = readAccounts(config);
    registry.replace(next);
    logger.info({ accounts: next.length }, 'accounts reloaded');
  } catch (error) {
    logger.error({ error: error instanceof ConfigError ? error.message : describeError(error) }, 'accounts not reloaded; keeping the previous ones');
  }
});
process.on('SIGINT', () => shutdown('SIGINT'));
