/**
 * Node entrypoint: the only place that knows it runs on Node. Reads `.env` (when present) and the
 * environment once, builds the portable app with Node's fetch, clock and hashing, and serves it.
 */
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createJsonLogger, describeError } from './logger.js';
import { loadDotEnv } from './runtime/node-env.js';
import { createNodeSha256 } from './runtime/node-sha256.js';
import { VERSION } from './version.js';

function readConfig(): Config {
  // The same .env reading as `npm run token`: values already in the environment win.
  loadDotEnv();
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`whatsapp-media-proxy: configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

const config = readConfig();
const logger = createJsonLogger(config.logLevel);
const { app } = createApp({ config, fetch: globalThis.fetch, clock: systemClock, logger, createSha256: createNodeSha256, version: VERSION });

const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  logger.info({ address: info.address, port: info.port, version: VERSION }, `listening on http://${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`);
});

process.on('unhandledRejection', (error) => logger.error({ error: describeError(error) }, 'unhandled rejection'));

let stopping = false;
function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: no new connections; waiting for in-flight responses');
  const force = setTimeout(() => {
    logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout reached; closing remaining connections');
    (server as import('node:http').Server).closeAllConnections?.();
    process.exit(0);
  }, config.shutdownTimeoutMs);
  force.unref();
  server.close(() => {
    logger.info({}, 'stopped');
    process.exit(0);
  });
  (server as import('node:http').Server).closeIdleConnections?.();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
