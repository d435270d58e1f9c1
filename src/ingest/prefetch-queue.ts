import type { Clock } from '../clock.js';
import { ProxyError, isProxyError, type ErrorCode } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import { jobKey, type JobState, type MediaIngestor, type PrefetchIntake, type PrefetchJob, type PrefetchJournal } from './prefetch-job.js';
import { DEFAULT_RETRY_POLICY, isPermanentFailure, retryDelayMs, type RetryPolicy } from './retry-policy.js';

export interface PrefetchQueueDeps {
  readonly ingestor: MediaIngestor;
  /** Where accepted jobs are kept until done (Node: src/runtime/file-journal.ts). None: memory only. */
  readonly journal?: PrefetchJournal;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** PREFETCH_QUEUE_MAX: jobs waiting or running. */
  readonly maxQueued: number;
  /** PREFETCH_CONCURRENCY: jobs running at once. */
  readonly concurrency: number;
  readonly retry?: Partial<RetryPolicy>;
}

/** What a full queue asks Meta (and a prefetching backend) to wait before trying again. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 30;

interface Entry {
  readonly job: PrefetchJob;
  readonly settled: Promise<void>;
  readonly resolve: () => void;
}

/**
 * The in-process prefetch queue: bounded, deduplicated by (account, id), PREFETCH_CONCURRENCY jobs at
 * a time, each retried with backoff on transient failures. Accepting is durable when a journal is
 * given: a job is appended (and fsync'd) before accept() resolves, and marked done once it finished
 * or failed for good, so a crash in between replays it at the next start.
 */
export class PrefetchQueue implements PrefetchIntake {
  private readonly pending = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private readonly metrics: Metrics;
  private readonly retry: RetryPolicy;
  private running = 0;
  private started: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly deps: PrefetchQueueDeps) {
    this.metrics = deps.metrics ?? noopMetrics;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  }

  /** Jobs waiting or running: the queue-depth gauge. */
  get depth(): number {
    return this.pending.size;
  }

  /**
   * Replays the journal (once): jobs accepted before a crash or a restart run again. They were
   * accepted already, so they are taken even beyond PREFETCH_QUEUE_MAX. accept() waits for this.
   */
  start(): Promise<void> {
    this.started ??= (async () => {
      const replayed = (await this.deps.journal?.replay()) ?? [];
      for (const job of replayed) if (!this.pending.has(jobKey(job))) this.enqueue(job);
      if (replayed.length > 0) this.deps.logger.info({ jobs: replayed.length }, 'prefetch jobs replayed from the journal');
      this.pump();
    })();
    return this.started;
  }

  async accept(jobs: readonly PrefetchJob[], options: { readonly checkStored?: boolean } = {}) {
    await this.start();
    const stored = options.checkStored ? await Promise.all(jobs.map((job) => this.storedAlready(job))) : jobs.map(() => false);
    const fresh: PrefetchJob[] = [];
    const freshKeys = new Set<string>();
    jobs.forEach((job, i) => {
      const key = jobKey(job);
      if (!stored[i] && !this.pending.has(key) && !freshKeys.has(key)) {
        fresh.push(job);
        freshKeys.add(key);
      }
    });
    // All or nothing: a delivery half-accepted would be redelivered whole anyway.
    // (A delivery with nothing new, a status update say, is never refused.)
    if (fresh.length > 0 && this.pending.size + fresh.length > this.deps.maxQueued) {
      throw new ProxyError('queue_full', { retryAfter: QUEUE_FULL_RETRY_AFTER_SECONDS });
    }
    // Reserve the slots before the journal write, so concurrent accepts cannot overfill the queue;
    // they become runnable only once the write is durable.
    const entries = fresh.map((job) => this.reserve(job));
    try {
      if (fresh.length > 0) await this.deps.journal?.append(fresh);
    } catch (error) {
      for (const entry of entries) this.release(entry);
      throw error;
    }
    this.metrics.prefetchJob('accepted', fresh.length);
    this.waiting.push(...entries);
    this.pump();
    const states: JobState[] = jobs.map((_, i) => (stored[i] ? 'stored' : 'queued'));
    const settled = Promise.all(jobs.map((job) => this.pending.get(jobKey(job))?.settled)).then(() => {});
    return { states, settled };
  }

  /** Resolves when nothing is waiting or running (tests, graceful shutdown). */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(job: PrefetchJob): void {
    this.waiting.push(this.reserve(job));
  }

  private reserve(job: PrefetchJob): Entry {
    let resolve!: () => void;
    const settled = new Promise<void>((done) => (resolve = done));
    const entry: Entry = { job, settled, resolve };
    this.pending.set(jobKey(job), entry);
    return entry;
  }

  private release(entry: Entry): void {
    this.pending.delete(jobKey(entry.job));
    entry.resolve();
    if (this.pending.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private pump(): void {
    while (this.running < this.deps.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      this.running++;
      void this.run(entry).finally(() => {
        this.running--;
        this.release(entry);
        this.pump();
      });
    }
  }

  private async storedAlready(job: PrefetchJob): Promise<boolean> {
    try {
      return await this.deps.ingestor.isStored(job.account, job.id);
    } catch (error) {
      // Unknown is "not stored": the job itself checks again before any download.
      this.deps.logger.warn({ account: job.account, mediaId: job.id, error: describeError(error) }, 'prefetch: store check failed');
      return false;
    }
  }

  private async run(entry: Entry): Promise<void> {
    const { job } = entry;
    const { logger } = this.deps;
    const context = { account: job.account, mediaId: job.id };
    // A job that ran out of attempts on transient failures (Graph or the store down for a while) stays
    // in the journal, so the next start tries it again: the id lives for days, the outage did not.
    let finished = true;
    for (let attempt = 1; ; attempt++) {
      try {
        if (await this.deps.ingestor.isStored(job.account, job.id)) {
          this.metrics.prefetchJob('already_stored');
        } else {
          await this.deps.ingestor.ingest(job.account, job.id, job.hint);
          this.metrics.prefetchJob('done');
          logger.debug(context, 'prefetch: media ingested');
        }
        break;
      } catch (error) {
        const code: ErrorCode | undefined = isProxyError(error) ? error.code : undefined;
        if (isPermanentFailure(code) || attempt >= this.retry.maxAttempts) {
          finished = isPermanentFailure(code);
          this.metrics.prefetchJob('failed');
          logger.warn({ ...context, attempts: attempt, code, error: code === undefined ? describeError(error) : undefined }, finished ? 'prefetch: job dropped' : 'prefetch: job given up for now; the journal keeps it for the next start');
          break;
        }
        this.metrics.prefetchJob('retried');
        const delayMs = retryDelayMs(this.retry, attempt, isProxyError(error) ? error.retryAfter : undefined);
        logger.debug({ ...context, attempt, code, delayMs }, 'prefetch: retrying after a transient failure');
        // The wait holds its concurrency slot on purpose: when Graph rate-limits, every other job
        // would meet the same limit, so the whole queue slows down rather than hammering it.
        await this.deps.clock.sleep(delayMs);
      }
    }
    if (!finished) return;
    await this.deps.journal?.done(job).catch((error: unknown) => logger.warn({ ...context, error: describeError(error) }, 'prefetch: journal could not mark a job done'));
  }
}
