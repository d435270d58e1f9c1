import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from '../metrics.js';

/**
 * The Node implementation of the core's Metrics interface, on prom-client with a registry of its own
 * (never the global one: two apps in one process, as in tests, must not share counters). Every label
 * is a small closed set (route patterns, methods, status codes, error codes, tiers, outcomes), never
 * a media id, token or URL, so the series count stays bounded.
 */
export interface PrometheusMetrics {
  readonly metrics: Metrics;
  readonly registry: Registry;
  /** Reports a cache tier's fill (bytes and entries held) as gauges, read at scrape time. */
  observeCache(tier: { readonly bytes: number; readonly entries: number }): void;
  /** Reports a bounded store's fill (the directory store) as gauges, read at scrape time. */
  observeStore(fill: () => { readonly bytes: number; readonly entries: number }): void;
  /** Reports the prefetch queue's depth (jobs waiting or running) as a gauge, read at scrape time. */
  observePrefetchQueue(queue: { readonly depth: number }): void;
  /** The text exposition format, for GET /metrics. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

export interface PrometheusMetricsOptions {
  /** Also export prom-client's process metrics (CPU, RSS, heap, event loop lag, GC). Default true. */
  readonly processMetrics?: boolean;
}

const PREFIX = 'whatsapp_media_proxy_';
// Upstream latencies: loopback fakes answer in ~1 ms, Graph in 50-500 ms, a stalled CDN up to
// UPSTREAM_TIMEOUT_MS (15 s by default).
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
// Until the response headers are ready: a memory hit takes well under a millisecond.
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];

export function createPrometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const registers = [registry];

  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const requestSeconds = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time until the response headers were ready (a streamed body may still be flowing), by route pattern.',
    labelNames: ['route'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const cacheHits = new Counter({ name: `${PREFIX}cache_hits_total`, help: 'Media served from a cache tier, by tier.', labelNames: ['tier'] as const, registers });
  const cacheMisses = new Counter({ name: `${PREFIX}cache_misses_total`, help: 'Media requests no cache tier could answer.', registers });
  const cacheEvictions = new Counter({ name: `${PREFIX}cache_evictions_total`, help: 'Entries pushed out of the memory cache to make room.', registers });
  const graphLookups = new Histogram({
    name: `${PREFIX}graph_lookup_duration_seconds`,
    help: 'Graph media lookups (retries included), by outcome: ok or the error code. _count is the number of lookups.',
    labelNames: ['outcome'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const graphErrors = new Counter({
    name: `${PREFIX}graph_errors_total`,
    help: 'Graph error answers, by the proxy error code they map to (each failed attempt counts).',
    labelNames: ['code'] as const,
    registers,
  });
  const cdnDownloads = new Histogram({
    name: `${PREFIX}cdn_download_duration_seconds`,
    help: 'Media CDN downloads until the response headers (a URL refresh included), by outcome. _count is the number of downloads.',
    labelNames: ['outcome'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const urlRefreshes = new Counter({ name: `${PREFIX}url_refreshes_total`, help: 'Download URLs the CDN rejected, so the id was resolved again.', registers });
  const integrityMismatches = new Counter({ name: `${PREFIX}integrity_mismatches_total`, help: 'Downloads, or stored files read for the first time, whose bytes did not match Graph sha256 (not served, not kept).', registers });
  const downloadsInFlight = new Gauge({ name: `${PREFIX}downloads_in_flight`, help: 'CDN bodies being transferred right now.', registers });

  const storeWrites = new Counter({
    name: `${PREFIX}store_writes_total`,
    help: 'Copies for the store, by outcome: ok (committed), failed (the store errored), refused (the download failed verification).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const storeBytesWritten = new Counter({ name: `${PREFIX}store_written_bytes_total`, help: 'Bytes of the files committed to the store.', registers });
  const storeEvictions = new Counter({
    name: `${PREFIX}store_evictions_total`,
    help: 'Stored files removed, by reason: size (STORE_MAX_BYTES), age (STORE_MAX_AGE_DAYS), malformed.',
    labelNames: ['reason'] as const,
    registers,
  });
  let storeFill: (() => { readonly bytes: number; readonly entries: number }) | undefined;
  new Gauge({
    name: `${PREFIX}store_bytes`,
    help: 'Bytes held by the directory store (files this process knows of).',
    registers,
    collect() {
      this.set(storeFill?.().bytes ?? 0);
    },
  });
  new Gauge({
    name: `${PREFIX}store_entries`,
    help: 'Files held by the directory store.',
    registers,
    collect() {
      this.set(storeFill?.().entries ?? 0);
    },
  });
  const prefetchJobs = new Counter({
    name: `${PREFIX}prefetch_jobs_total`,
    help: 'Prefetch jobs (webhook deliveries, POST /prefetch) by event: accepted, done, already_stored, retried, failed (dropped).',
    labelNames: ['event'] as const,
    registers,
  });
  let observedQueue: { readonly depth: number } | undefined;
  new Gauge({
    name: `${PREFIX}prefetch_queue_depth`,
    help: 'Prefetch jobs waiting or running in this process.',
    registers,
    collect() {
      this.set(observedQueue?.depth ?? 0);
    },
  });

  let observed: { readonly bytes: number; readonly entries: number } | undefined;
  new Gauge({
    name: `${PREFIX}cache_bytes`,
    help: 'Bytes held by the memory cache.',
    registers,
    collect() {
      this.set(observed?.bytes ?? 0);
    },
  });
  new Gauge({
    name: `${PREFIX}cache_entries`,
    help: 'Entries held by the memory cache.',
    registers,
    collect() {
      this.set(observed?.entries ?? 0);
    },
  });

  // prom-client hashes the label object on every call; a request is counted on every hit, so keep
  // the bound children of each (route, method, status) instead.
  const requestChildren = new Map<string, { count: Counter.Internal; seconds: Histogram.Internal<'route'> }>();
  const hitChildren = new Map<string, Counter.Internal>();

  const metrics: Metrics = {
    request(route, method, status, seconds) {
      const key = `${route} ${method} ${status}`;
      let child = requestChildren.get(key);
      if (child === undefined) {
        child = { count: requests.labels(route, method, String(status)), seconds: requestSeconds.labels(route) };
        requestChildren.set(key, child);
      }
      child.count.inc();
      child.seconds.observe(seconds);
    },
    cacheHit(tier) {
      let child = hitChildren.get(tier);
      if (child === undefined) {
        child = cacheHits.labels(tier);
        hitChildren.set(tier, child);
      }
      child.inc();
    },
    cacheMiss: () => cacheMisses.inc(),
    cacheEviction: () => cacheEvictions.inc(),
    graphLookup: (outcome, seconds) => graphLookups.observe({ outcome }, seconds),
    graphError: (code) => graphErrors.inc({ code }),
    cdnDownload: (outcome, seconds) => cdnDownloads.observe({ outcome }, seconds),
    urlRefresh: () => urlRefreshes.inc(),
    integrityMismatch: () => integrityMismatches.inc(),
    downloadStarted: () => downloadsInFlight.inc(),
    downloadFinished: () => downloadsInFlight.dec(),
    storeWrite(outcome, bytes) {
      storeWrites.inc({ outcome });
      if (bytes > 0) storeBytesWritten.inc(bytes);
    },
    storeEviction: (reason) => storeEvictions.inc({ reason }),
    prefetchJob: (event, count = 1) => prefetchJobs.inc({ event }, count),
  };

  return {
    metrics,
    registry,
    observeCache(tier) {
      observed = tier;
    },
    observeStore(fill) {
      storeFill = fill;
    },
    observePrefetchQueue(queue) {
      observedQueue = queue;
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
