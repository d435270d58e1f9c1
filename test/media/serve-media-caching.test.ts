/**
 * GET /media/:id when all goes well: the bytes and headers served, what is sent to Graph and the CDN,
 * the memory cache shared between callers, concurrent requests coalesced, and a large file streamed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes, sha256Hex } from '../support/fake-whatsapp.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { IMAGE_ID, image, startWithImage } from './serve-media-fixtures.js';

describe('GET /media/:id', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startWithImage();
  });
  afterEach(() => h.close());

  it('serves the bytes with the Graph mime_type, Content-Length and a sha256 ETag', async () => {
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('content-length')).toBe(String(image.byteLength));
    expect(res.headers.get('etag')).toBe(`"${sha256Hex(image)}"`);
    expectSameBytes(await bodyBytes(res), image);
  });

  it('accepts the caller token from ?token= for <img src>', async () => {
    const token = await h.token({ media: [IMAGE_ID] });
    const res = await h.get(`/media/${IMAGE_ID}?token=${token}`, { token: null });
    expect(res.status).toBe(200);
    expectSameBytes(await bodyBytes(res), image);
  });

  it('sends the business token and a User-Agent naming the proxy to Graph and the CDN, never phone_number_id', async () => {
    await (await h.get(`/media/${IMAGE_ID}`)).arrayBuffer();
    const upstream = h.fake.requests.filter((r) => r.kind !== 'other');
    expect(upstream.map((r) => r.kind)).toEqual(['graph', 'cdn']);
    for (const r of upstream) {
      expect(r.headers.authorization).toBe(`Bearer ${h.fake.token}`);
      expect(r.headers['user-agent']).toBe('whatsapp-media-proxy/0.0.0-test');
    }
    expect(upstream[0]!.path).toBe(`/v25.0/${IMAGE_ID}`);
    expect(h.fake.requests.some((r) => 'phone_number_id' in r.headers)).toBe(false);
  });

  it('serves repeats from memory: one Graph lookup and one download for many requests', async () => {
    for (let i = 0; i < 3; i++) expect((await h.get(`/media/${IMAGE_ID}`)).status).toBe(200);
    expect(h.fake.count('graph', IMAGE_ID)).toBe(1);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(1);
    const caches = h.logEntries().filter((e) => e.msg === 'request').map((e) => e.cache);
    expect(caches).toEqual(['miss', 'hit:memory', 'hit:memory']);
  });

  it('with CACHE_MAX_BYTES=0 still serves verified bytes, and keeps none in memory', async () => {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    for (let i = 0; i < 2; i++) expectSameBytes(await bodyBytes(await h.get(`/media/${IMAGE_ID}`)), image);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
    expect(h.proxy.memory.entries).toBe(0);
  });

  it('shares the cache between callers with different tokens', async () => {
    const a = await h.token({ media: [IMAGE_ID] });
    const b = await h.token({ media: '*' });
    expect((await h.get(`/media/${IMAGE_ID}`, { token: a })).status).toBe(200);
    expect((await h.get(`/media/${IMAGE_ID}`, { token: b })).status).toBe(200);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(1);
  });

  it('coalesces concurrent requests for an uncached id into one lookup and one download', async () => {
    h.fake.setDownloadFault(IMAGE_ID, { headerDelayMs: 100 });
    const responses = await Promise.all(Array.from({ length: 8 }, () => h.get(`/media/${IMAGE_ID}`)));
    for (const res of responses) {
      expect(res.status).toBe(200);
      expectSameBytes(await bodyBytes(res), image);
    }
    expect(h.fake.count('graph', IMAGE_ID)).toBe(1);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(1);
  });

  it('streams a file above CACHE_MAX_ITEM_BYTES: the first bytes arrive while the download still runs', async () => {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_ITEM_BYTES: String(1024 * 1024) } });
    const video = makeBytes(3_000_000, 9);
    h.fake.addMedia('98765', { bytes: video, mimeType: 'video/mp4' });
    h.fake.setDownloadFault('98765', { trickle: { chunkBytes: 64 * 1024, delayMs: 10 } });
    const res = await h.get('/media/98765');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(video.byteLength));
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBeGreaterThan(0);
    expect(h.fake.openDownloads).toBe(1);
    expect(h.fake.cdnBytesSent).toBeLessThan(video.byteLength);
    const rest: Uint8Array[] = [first.value!];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest.push(value);
    }
    expectSameBytes(Buffer.concat(rest), video);
    expect(h.proxy.memory.entries).toBe(0);
  });

  it('accepts file_size as a numeric string', async () => {
    h.fake.addMedia('555000111', { bytes: image, mimeType: 'image/png', fileSizeAsString: true });
    const res = await h.get('/media/555000111');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(image.byteLength));
  });
});
