/**
 * GET /media/:id when the lookaside URL fails: a refresh when it expired or the CDN answers an HTML
 * page, one refresh for several callers, the limits of refreshing; and the checks on the URL Graph
 * names and on the bytes the CDN sends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes, URL_LIFETIME_MS } from '../support/fake-whatsapp.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { eventually } from '../support/eventually.js';
import { IMAGE_ID, image, startWithImage } from './serve-media-fixtures.js';

describe('GET /media/:id', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startWithImage();
  });
  afterEach(() => h.close());

  /** A proxy that keeps no file (so every request downloads), with IMAGE_ID's URL cached and then expired at the CDN. */
  async function withAnExpiredUrl(): Promise<void> {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0', CACHE_MAX_ITEM_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    expect((await h.get(`/media/${IMAGE_ID}`, { method: 'HEAD' })).status).toBe(200); // URL resolved and cached
    h.fake.advance(URL_LIFETIME_MS + 1_000);
  }

  it('re-resolves when the lookaside URL expired, and the caller never sees it', async () => {
    // Cache nothing in memory so the second request must download again with the cached Graph answer.
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0', CACHE_MAX_ITEM_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    expect((await h.get(`/media/${IMAGE_ID}`)).status).toBe(200);
    h.fake.advance(URL_LIFETIME_MS + 1_000); // the URL Graph issued is now expired at the CDN
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(200);
    expectSameBytes(await bodyBytes(res), image);
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(3);
  });

  it('answers 502, not other bytes, when a URL refresh finds Graph naming another sha256 and file_size', async () => {
    await withAnExpiredUrl();
    // The caller is answered from the cached lookup (its length and ETag); the refresh then names a
    // different file, which cannot be sent under them.
    h.fake.addMedia(IMAGE_ID, { bytes: makeBytes(6_000, 8), mimeType: 'image/jpeg' });
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
  });

  it('refreshes an expired URL once for several callers, even when one learns of it late', async () => {
    await withAnExpiredUrl();
    // Both callers download a range of their own with the expired URL (nothing keeps this file, so no
    // shared download). The CDN holds both 404s until both requests have arrived, then answers one;
    // the other 404 comes only after that caller's refresh has finished (its download with the new
    // URL has reached the CDN), so it must reuse that refresh instead of asking Graph again.
    let answerFirst = (): void => undefined;
    let answerSecond = (): void => undefined;
    const first = new Promise<void>((resolve) => (answerFirst = resolve));
    const second = new Promise<void>((resolve) => (answerSecond = resolve));
    h.fake.scriptDownload(IMAGE_ID, { holdUntil: first }, { holdUntil: second });
    const answers = Promise.all([h.get(`/media/${IMAGE_ID}`, { headers: { range: 'bytes=0-99' } }), h.get(`/media/${IMAGE_ID}`, { headers: { range: 'bytes=100-199' } })]);
    try {
      await eventually(() => h.fake.count('cdn', IMAGE_ID) === 2, 'both callers at the CDN with the expired URL');
      answerFirst();
      await eventually(() => h.fake.count('cdn', IMAGE_ID) === 3, 'the first caller downloading with the refreshed URL');
      expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    } finally {
      // A failed step must not leave the CDN holding an answer (and the harness's close waiting on it).
      answerFirst();
      answerSecond();
    }
    const [a, b] = await answers;
    expectSameBytes(await bodyBytes(a!), image.subarray(0, 100));
    expectSameBytes(await bodyBytes(b!), image.subarray(100, 200));
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(4);
  });

  it('re-resolves when the CDN answers an HTML page instead of media', async () => {
    h.fake.scriptDownload(IMAGE_ID, { status: 200 });
    // status 200 + HTML body from the fault: the CDN's "content isn't available" page
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
  });

  it('asks Graph again once the resolved URL is older than its cache life', async () => {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0', CACHE_MAX_ITEM_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    await h.get(`/media/${IMAGE_ID}`);
    h.clock.advance(4 * 60_000 + 1);
    await h.get(`/media/${IMAGE_ID}`);
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
  });

  it('gives up with 502 when the CDN still refuses after one refresh', async () => {
    h.fake.setDownloadFault(IMAGE_ID, { status: 403 });
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(502);
    expect((await res.json()).code).toBe('upstream_error');
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
  });

  it('refuses a download URL on a host outside MEDIA_HOSTS without contacting it', async () => {
    // localhost resolves to the fake too, so a request that went out would be seen.
    h.fake.overrideUrl(IMAGE_ID, h.fake.signedUrl(IMAGE_ID).replace('127.0.0.1', 'localhost'));
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.code).toBe('upstream_host_not_allowed');
    expect(JSON.stringify(body)).not.toContain('localhost');
    expect(h.fake.count('cdn')).toBe(0);
  });

  it('aborts before the last byte and keeps nothing when the bytes do not match Graph sha256', async () => {
    h.fake.scriptDownload(IMAGE_ID, { corrupt: true });
    const bad = await h.get(`/media/${IMAGE_ID}`);
    expect(bad.status).toBe(200);
    await expect(bodyBytes(bad)).rejects.toThrow();
    expect(h.proxy.memory.entries).toBe(0);
    const good = await h.get(`/media/${IMAGE_ID}`);
    expect(good.status).toBe(200);
    expectSameBytes(await bodyBytes(good), image);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
  });
});
