import { isProxyError } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import { parseJob, type MediaIngestor } from './prefetch-job.js';
import { isPermanentFailure, retryDelayMs, type RetryPolicy } from './retry-policy.js';

/** The parts of a Cloudflare Queues message (`Message<unknown>`) this uses. */
export interface QueueMessageLike {
  readonly body: unknown;
  /** 1 on the first delivery. */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface ConsumeDeps {
  readonly ingestor: MediaIngestor;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly retry: RetryPolicy;
}

/**
 * The consumer side on Workers: each message is one job. Stored already → ack; ingested → ack; a
 * permanent failure, or the last attempt, → ack and log (dropped); a transient one → retry with the
 * same backoff as the Node queue, through the queue's own delay so no isolate sits waiting. Messages
 * run concurrently; the batch size (wrangler.toml max_batch_size) bounds how many.
 */
export async function consumePrefetchBatch(messages: readonly QueueMessageLike[], deps: ConsumeDeps): Promise<void> {
  const metrics = deps.metrics ?? noopMetrics;
  await Promise.all(
    messages.map(async (message) => {
      const job = parseJob(message.body);
      if (job === undefined) {
        deps.logger.warn({}, 'prefetch: queue message is not a job; dropped');
        return message.ack();
      }
      const context = { account: job.account, mediaId: job.id, attempt: message.attempts };
      try {
        if (await deps.ingestor.isStored(job.account, job.id)) {
          metrics.prefetchJob('already_stored');
        } else {
          await deps.ingestor.ingest(job.account, job.id, job.hint);
          metrics.prefetchJob('done');
        }
        message.ack();
      } catch (error) {
        const code = isProxyError(error) ? error.code : undefined;
        if (isPermanentFailure(code) || message.attempts >= deps.retry.maxAttempts) {
          metrics.prefetchJob('failed');
          deps.logger.warn({ ...context, code, error: code === undefined ? describeError(error) : undefined }, 'prefetch: job dropped');
          return message.ack();
        }
        metrics.prefetchJob('retried');
        const delaySeconds = Math.ceil(retryDelayMs(deps.retry, message.attempts, isProxyError(error) ? error.retryAfter : undefined) / 1000);
        deps.logger.debug({ ...context, code, delaySeconds }, 'prefetch: retrying after a transient failure');
        message.retry({ delaySeconds });
      }
    }),
  );
}
