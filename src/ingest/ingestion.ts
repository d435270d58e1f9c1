import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { MediaIngestor, PrefetchIntake, PrefetchJournal } from './prefetch-job.js';
import { PrefetchQueue } from './prefetch-queue.js';

/** The ingestion parts of AppDeps (issue 12). */
export interface IngestionOptions {
  /** Runs prefetch jobs: the store's (the lead's); without one, jobs go into the cache tiers. */
  readonly ingestor?: MediaIngestor;
  /** Keeps accepted jobs across a crash (Node: src/runtime/file-journal.ts); without one, memory only. */
  readonly prefetchJournal?: PrefetchJournal;
  /** Replaces the in-process queue (Workers with a PREFETCH_QUEUE binding: the Queue producer). */
  readonly prefetchIntake?: (ingestor: MediaIngestor) => PrefetchIntake;
}

export interface Ingestion {
  readonly ingestor: MediaIngestor;
  /** The in-process queue; undefined when `prefetchIntake` replaced it (a Cloudflare Queue). */
  readonly prefetchQueue: PrefetchQueue | undefined;
  readonly intake: PrefetchIntake;
}

export interface IngestionDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The ingestor when AppDeps gives none (today: into the cache tiers). */
  readonly fallbackIngestor: () => MediaIngestor;
}

export function createIngestion(options: IngestionOptions, deps: IngestionDeps): Ingestion {
  const ingestor = options.ingestor ?? deps.fallbackIngestor();
  if (options.prefetchIntake) return { ingestor, prefetchQueue: undefined, intake: options.prefetchIntake(ingestor) };
  const queue = new PrefetchQueue({
    ingestor,
    ...(options.prefetchJournal ? { journal: options.prefetchJournal } : {}),
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
    maxQueued: deps.config.prefetchQueueMax,
    concurrency: deps.config.prefetchConcurrency,
  });
  return { ingestor, prefetchQueue: queue, intake: queue };
}
