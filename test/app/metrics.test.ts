import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../src/runtime/prometheus-metrics.js';
import { graphError, makeBytes, URL_LIFETIME_MS } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';

const IMAGE_ID = '1234567890123456';
const image = makeBytes(5_000, 3);
const METRICS_TOKEN = `metrics-${crypto.randomUUID()}`;

/** Value of one sample in the text exposition format; 0 when the series does not exist yet. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',').filter((l) => l !== '');
    if (wanted.every((l) => present.includes(l)) && present.length === wanted.length) return Number(match[3]);
  }
  return 0;
}

const P = 'whatsapp_media_proxy_';

describe('GET /metrics (Prometheus)', () => {
  let h: Harness;
  let prometheus: PrometheusMetrics;

  async function start(env: Record<string, string> = {}) {
    prometheus = createPrometheusMetrics({ processMetrics: false });
    h = await startHarness({ env, deps: { metrics: prometheus.metrics, metricsEndpoint: prometheus.scrape } });
    prometheus.observeCache(h.proxy.memory);
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
  }
  async function scrape(): Promise<string> {
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  }
  async function fetchMedia(id: string): Promise<number> {
    const res = await h.get(`/media/${id}`);
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  }

  afterEach(() => h.close());

  it('serves the text format and counts requests, hits, misses, lookups, downloads and bytes held', async () => {
    await start();
    const res = await fetch(`${h.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const before = await res.text();
    expect(sample(before, `${P}cache_bytes`)).toBe(0);

    expect(await fetchMedia(IMAGE_ID)).toBe(200);
    expect(await fetchMedia(IMAGE_ID)).toBe(200);
    const after = await scrape();

    const ok = { route: '/media/:id', method: 'GET', status: '200' };
    expect(sample(after, `${P}http_requests_total`, ok) - sample(before, `${P}http_requests_total`, ok)).toBe(2);
    expect(sample(after, `${P}http_request_duration_seconds_count`, { route: '/media/:id' })).toBe(2);
    expect(sample(after, `${P}cache_misses_total`)).toBe(1);
    expect(sample(after, `${P}cache_hits_total`, { tier: 'memory' })).toBe(1);
    expect(sample(after, `${P}graph_lookup_duration_seconds_count`, { outcome: 'ok' })).toBe(1);
    expect(sample(after, `${P}cdn_download_duration_seconds_count`, { outcome: 'ok' })).toBe(1);
    expect(sample(after, `${P}cache_bytes`)).toBe(image.byteLength);
    expect(sample(after, `${P}cache_entries`)).toBe(1);
    expect(sample(after, `${P}downloads_in_flight`)).toBe(0);
    // The first scrape itself was counted under its route pattern.
    expect(sample(after, `${P}http_requests_total`, { route: '/metrics', method: 'GET', status: '200' })).toBe(1);
  });

  it('labels unknown paths by pattern, never by the path itself', async () => {
    await start();
    await fetch(`${h.url}/no/such/path/123`);
    const text = await scrape();
    expect(text).not.toContain('/no/such/path');
    expect(sample(text, `${P}http_requests_total`, { route: '/*', method: 'GET', status: '404' })).toBe(1);
  });

  it('answers 405 with Allow: GET, HEAD to other methods on /metrics', async () => {
    await start();
    for (const method of ['POST', 'DELETE', 'PROPFIND']) {
      const res = await fetch(`${h.url}/metrics`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('counts evictions when the memory cache makes room', async () => {
    await start({ CACHE_MAX_BYTES: '12000', CACHE_MAX_ITEM_BYTES: '6000' });
    for (const id of ['101', '102', '103']) {
      h.fake.addMedia(id, { bytes: image, mimeType: 'image/jpeg' });
      expect(await fetchMedia(id)).toBe(200);
    }
    const text = await scrape();
    expect(sample(text, `${P}cache_evictions_total`)).toBe(1);
    expect(sample(text, `${P}cache_entries`)).toBe(2);
    expect(sample(text, `${P}cache_bytes`)).toBe(2 * image.byteLength);
  });

  it('counts URL refreshes when the CDN rejects an expired URL', async () => {
    await start({ CACHE_MAX_BYTES: '0', CACHE_MAX_ITEM_BYTES: '0' });
    expect(await fetchMedia(IMAGE_ID)).toBe(200);
    expect(sample(await scrape(), `${P}url_refreshes_total`)).toBe(0);
    h.fake.advance(URL_LIFETIME_MS + 1_000);
    expect(await fetchMedia(IMAGE_ID)).toBe(200);
    const text = await scrape();
    expect(sample(text, `${P}url_refreshes_total`)).toBe(1);
    expect(sample(text, `${P}graph_lookup_duration_seconds_count`, { outcome: 'ok' })).toBe(2);
  });

  it('counts sha256 mismatches', async () => {
    await start();
    h.fake.scriptDownload(IMAGE_ID, { corrupt: true });
    // The response started (200) and was aborted before its last byte.
    expect(await fetchMedia(IMAGE_ID)).toBe(200);
    const text = await scrape();
    expect(sample(text, `${P}integrity_mismatches_total`)).toBe(1);
    expect(sample(text, `${P}cache_bytes`)).toBe(0);
    expect(sample(text, `${P}downloads_in_flight`)).toBe(0);
  });

  it('counts Graph errors by code and failed lookups by outcome', async () => {
    await start();
    h.fake.scriptGraph('777', { status: 401, body: graphError(190) });
    expect(await fetchMedia('777')).toBe(502);
    h.clock.advance(10_001); // past the fail-fast window that follows a rejected business token
    expect(await fetchMedia('424242')).toBe(404);
    const text = await scrape();
    expect(sample(text, `${P}graph_errors_total`, { code: 'upstream_auth_failed' })).toBe(1);
    expect(sample(text, `${P}graph_errors_total`, { code: 'media_not_found' })).toBe(1);
    expect(sample(text, `${P}graph_lookup_duration_seconds_count`, { outcome: 'upstream_auth_failed' })).toBe(1);
    expect(sample(text, `${P}http_requests_total`, { route: '/media/:id', method: 'GET', status: '502' })).toBe(1);
  });

  it('shows a streamed download in flight while it runs, and not after', async () => {
    await start({ CACHE_MAX_ITEM_BYTES: '10000' });
    const big = makeBytes(200_000, 9);
    h.fake.addMedia('555', { bytes: big, mimeType: 'video/mp4' });
    h.fake.setDownloadFault('555', { trickle: { chunkBytes: 20_000, delayMs: 30 } });
    const res = await h.get('/media/555');
    expect(res.status).toBe(200);
    expect(sample(await scrape(), `${P}downloads_in_flight`)).toBe(1);
    expect((await res.arrayBuffer()).byteLength).toBe(big.byteLength);
    expect(sample(await scrape(), `${P}downloads_in_flight`)).toBe(0);
  });

  it('requires METRICS_TOKEN as a bearer token when it is set', async () => {
    await start({ METRICS_TOKEN });
    const none = await fetch(`${h.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await none.json()).code).toBe('unauthorized');
    const wrong = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const prefix = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` } });
    expect(prefix.status).toBe(401);
    const right = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain(`${P}http_requests_total`);
    expect(h.logs.join('\n')).not.toContain(METRICS_TOKEN);
  });

  it('answers 404 when the runtime provides no metrics (Workers)', async () => {
    h = await startHarness();
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('not_found');
  });

  it('exports process metrics unless told not to', async () => {
    h = await startHarness();
    const withProcess = await createPrometheusMetrics().scrape();
    expect(withProcess.body).toContain(`${P}process_resident_memory_bytes`);
    const without = await createPrometheusMetrics({ processMetrics: false }).scrape();
    expect(without.body).not.toContain('process_resident_memory_bytes');
  });
  it('counts prefetch jobs accepted, done, already stored and failed, and reports the queue depth', async () => {
    await start();
    prometheus.observePrefetchQueue(h.proxy.prefetchQueue!);
    h.fake.scriptDownload(IMAGE_ID, { headerDelayMs: 200 });
    const prefetch = async (media: string[]) =>
      fetch(`${h.url}/prefetch`, { method: 'POST', body: JSON.stringify({ media }), headers: { authorization: `Bearer ${await h.token({ media: '*', scope: 'media:prefetch' })}` } });
    expect((await prefetch([IMAGE_ID, '404404'])).status).toBe(202);
    expect(sample(await scrape(), `${P}prefetch_queue_depth`)).toBeGreaterThan(0);
    await h.proxy.prefetchQueue!.idle();
    // Already in memory: answered `stored` at once, nothing queued.
    expect((await prefetch([IMAGE_ID])).status).toBe(202);
    const text = await scrape();
    expect(sample(text, `${P}prefetch_jobs_total`, { event: 'accepted' })).toBe(2);
    expect(sample(text, `${P}prefetch_jobs_total`, { event: 'done' })).toBe(1);
    expect(sample(text, `${P}prefetch_jobs_total`, { event: 'failed' })).toBe(1);
    expect(sample(text, `${P}prefetch_queue_depth`)).toBe(0);
  });
});
