/**
 * What the core reports as it works. The Node entrypoint passes a prom-client implementation
 * (src/runtime/prometheus-metrics.ts); elsewhere the no-op one is used. Labels are small closed sets
 * (codes, outcomes, tiers), never ids or URLs.
 */
export interface Metrics {
  request(route: string, method: string, status: number, seconds: number): void;
  cacheHit(tier: string): void;
  cacheMiss(): void;
  cacheEviction(): void;
  graphLookup(outcome: string, seconds: number): void;
  graphError(code: string): void;
  cdnDownload(outcome: string, seconds: number): void;
  urlRefresh(): void;
  integrityMismatch(): void;
  downloadStarted(): void;
  downloadFinished(): void;
  /** A copy for the store: `ok` (committed, `bytes` kept), `failed` (the store errored), `refused` (the download failed verification, so nothing was kept). */
  storeWrite(outcome: 'ok' | 'failed' | 'refused', bytes: number): void;
  /** A stored file removed to hold STORE_MAX_BYTES / STORE_MAX_AGE_DAYS, or because it was malformed. */
  storeEviction(reason: 'size' | 'age' | 'malformed'): void;
  /** Prefetch jobs: accepted (count at once), done, already_stored (nothing to fetch), retried, failed (dropped). */
  prefetchJob(event: PrefetchEvent, count?: number): void;
}

export type PrefetchEvent = 'accepted' | 'done' | 'already_stored' | 'retried' | 'failed';

export const noopMetrics: Metrics = {
  request() {},
  cacheHit() {},
  cacheMiss() {},
  cacheEviction() {},
  graphLookup() {},
  graphError() {},
  cdnDownload() {},
  urlRefresh() {},
  integrityMismatch() {},
  downloadStarted() {},
  downloadFinished() {},
  storeWrite() {},
  storeEviction() {},
  prefetchJob() {},
};
