import { ProxyError } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import type { JobState, MediaIngestor, PrefetchIntake, PrefetchJob } from './prefetch-job.js';
import { QUEUE_FULL_RETRY_AFTER_SECONDS } from './prefetch-queue.js';

/** The part of a Cloudflare Queue producer binding (`env.PREFETCH_QUEUE`) this uses. */
export interface QueueProducer {
  sendBatch(messages: Iterable<{ readonly body: PrefetchJob }>): Promise<unknown>;
}

/** Cloudflare Queues take at most 100 messages per sendBatch. */
const SEND_BATCH_MAX = 100;

/**
 * The producer side on Workers with a PREFETCH_QUEUE binding: accepted jobs are sent to the queue,
 * which keeps them durably (the send resolves once the queue has them) and delivers them to this
 * Worker's queue() handler (consume-queue-batch.ts), so they outlive the request and the isolate.
 * The queue itself cannot deduplicate: the consumer checks the store before any download.
 */
export function createQueueIntake(queue: QueueProducer, ingestor: MediaIngestor, logger: Logger, metrics: Metrics = noopMetrics): PrefetchIntake {
  return {
    async accept(jobs, options = {}) {
      const stored = options.checkStored ? await Promise.all(jobs.map((job) => ingestor.isStored(job.account, job.id).catch(() => false))) : jobs.map(() => false);
      const fresh = jobs.filter((_, i) => !stored[i]);
      try {
        for (let i = 0; i < fresh.length; i += SEND_BATCH_MAX) await queue.sendBatch(fresh.slice(i, i + SEND_BATCH_MAX).map((body) => ({ body })));
      } catch (error) {
        // Over the queue's backlog or throughput limits, or the service failing: the sender retries.
        logger.warn({ jobs: fresh.length, error: describeError(error) }, 'prefetch: the queue refused the jobs');
        throw new ProxyError('queue_full', { retryAfter: QUEUE_FULL_RETRY_AFTER_SECONDS, cause: error });
      }
      metrics.prefetchJob('accepted', fresh.length);
      const states: JobState[] = stored.map((s) => (s ? 'stored' : 'queued'));
      return { states, settled: Promise.resolve() };
    },
  };
}
