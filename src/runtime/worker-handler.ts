import { createApp, type ProxyApp } from '../app.js';
import { createEdgeTier, type EdgeCache } from '../cache/edge-tier.js';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { ProxyError } from '../errors.js';
import { problemResponse } from '../http/problem-response.js';
import { consumePrefetchBatch } from '../ingest/consume-queue-batch.js';
import { createQueueIntake, type QueueProducer } from '../ingest/queue-intake.js';
import { DEFAULT_RETRY_POLICY } from '../ingest/retry-policy.js';
import { createJsonLogger, type Logger } from '../logger.js';
import { VERSION } from '../version.js';
import { withFixedLength } from './worker-fixed-length.js';
import { createWorkerSha256 } from './worker-sha256.js';

export interface WorkerHandlerOptions {
  /** The shared tier's cache; `caches.default` unless a test passes another. */
  readonly edgeCache?: () => EdgeCache;
  /** Where JSON log lines go; console.log (Workers Logs, `wrangler tail`) unless a test captures them. */
  readonly writeLog?: (line: string) => void;
}

type Built = { readonly proxy: ProxyApp; readonly logger: Logger } | { readonly configError: ConfigError };

/**
 * The Worker's fetch handler. The app is built once per isolate, on the first request, because a
 * Worker's `env` only arrives with a request; it stays the same for the isolate's life (a new
 * deployment or secret starts new isolates), so the memory tier and the resolve cache live as long as
 * the isolate does.
 */
export function createWorkerHandler(options: WorkerHandlerOptions = {}): ExportedHandler<Record<string, unknown>> {
  let built: Built | undefined;
  const writeLog = options.writeLog ?? ((line: string) => console.log(line));

  function build(env: Record<string, unknown>): Built {
    let config;
    try {
      config = loadConfig(stringVariables(env), 'workers');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Same message as Node prints before exiting; a Worker cannot exit, so every request says so.
      writeLog(JSON.stringify({ level: 'error', time: new Date().toISOString(), msg: `configuration error: ${error.message}`, variable: error.variable }));
      return { configError: error };
    }
    const logger = createJsonLogger(config.logLevel, writeLog);
    const edge = createEdgeTier({ cache: options.edgeCache?.() ?? caches.default, logger, maxItemBytes: config.cacheMaxItemBytes });
    const proxy = createApp({
      config,
      fetch: globalThis.fetch,
      clock: systemClock,
      logger,
      createSha256: createWorkerSha256,
      version: VERSION,
      sharedTiers: [edge],
      background: (c) => c.executionCtx,
      withKnownLength: withFixedLength,
      // With a Queues binding, accepted prefetch jobs go to the queue (durable, consumed by queue()
      // below); without one, the in-isolate queue runs them under ctx.waitUntil (README: its limits).
      ...(isQueue(env.PREFETCH_QUEUE) ? { prefetchIntake: (ingestor) => createQueueIntake(env.PREFETCH_QUEUE as QueueProducer, ingestor, logger) } : {}),
    });
    return { proxy, logger };
  }

  return {
    fetch(request, env, ctx) {
      built ??= build(env);
      if ('configError' in built) {
        // Name the variable only: the full message (which may quote the value) is in the log line.
        const detail = `the Worker is misconfigured: check ${built.configError.variable} (wrangler.toml [vars] or wrangler secret put)`;
        return problemResponse(new ProxyError('internal', { detail }));
      }
      return built.proxy.app.fetch(request, env, ctx);
    },

    /** The PREFETCH_QUEUE consumer (wrangler.toml [[queues.consumers]]): one message per job. */
    async queue(batch, env) {
      built ??= build(env);
      if ('configError' in built) return batch.retryAll({ delaySeconds: 60 });
      await consumePrefetchBatch(batch.messages, { ingestor: built.proxy.ingestor, logger: built.logger, retry: DEFAULT_RETRY_POLICY });
    },
  };
}

function isQueue(binding: unknown): boolean {
  return typeof binding === 'object' && binding !== null && typeof (binding as { sendBatch?: unknown }).sendBatch === 'function';
}

/** The Worker's plain variables and secrets (strings); other bindings are not configuration. */
function stringVariables(env: Record<string, unknown>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value;
  return vars;
}
