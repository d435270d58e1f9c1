import { noopMetrics, type Metrics, type PrefetchEvent } from '../../src/metrics.js';

/** Metrics that count prefetch job events, for assertions. */
export function recordingMetrics(): { metrics: Metrics; jobs: Record<PrefetchEvent, number> } {
  const jobs: Record<PrefetchEvent, number> = { accepted: 0, done: 0, already_stored: 0, retried: 0, failed: 0 };
  return {
    jobs,
    metrics: {
      ...noopMetrics,
      prefetchJob(event, count = 1) {
        jobs[event] += count;
      },
    },
  };
}
