import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes, sha256Hex } from '../support/fake-whatsapp.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';

const SMALL_ID = '100000000000001';
const LARGE_ID = '100000000000002';
const small = makeBytes(10_000, 3);
const large = makeBytes(1_500_000, 4); // above the 256 KiB item limit below: streamed, never cached
const ITEM_LIMIT = String(256 * 1024);


describe('HTTP semantics for browsers and players', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { CACHE_MAX_ITEM_BYTES: ITEM_LIMIT, CLIENT_CACHE_MAX_AGE: '3600' } });
    h.fake.addMedia(SMALL_ID, { bytes: small, mimeType: 'image/png' }).addMedia(LARGE_ID, { bytes: large, mimeType: 'video/mp4' });
  });
  afterEach(() => h.close());

  describe.each([
    ['a cached file', SMALL_ID, small],
    ['a streamed file', LARGE_ID, large],
  ])('on %s', (_label, id, bytes) => {
    const etag = `"${sha256Hex(bytes)}"`;

    it('answers HEAD like GET without a body, and without downloading', async () => {
      const res = await h.get(`/media/${id}`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(bytes.byteLength));
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('content-type')).toMatch(/^(image|video)\//);
      expect((await bodyBytes(res)).byteLength).toBe(0);
      expect(h.fake.count('cdn')).toBe(0);
    });

    it('sends private, immutable caching headers with the configured max-age', async () => {
      const res = await h.get(`/media/${id}`);
      expect(res.headers.get('cache-control')).toBe('private, max-age=3600, immutable, no-transform');
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      await res.arrayBuffer();
    });

    it.each([
      ['bytes=0-1', 0, 1],
      ['bytes=1000-1999', 1000, 1999],
      ['bytes=5000-', 5000, bytes.byteLength - 1],
      ['bytes=-100', bytes.byteLength - 100, bytes.byteLength - 1],
    ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
      const res = await h.get(`/media/${id}`, { headers: { range } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.byteLength}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expectSameBytes(await bodyBytes(res), bytes.subarray(start, end + 1));
    });

    it('answers an unsatisfiable range with 416 and bytes */size', async () => {
      const res = await h.get(`/media/${id}`, { headers: { range: `bytes=${bytes.byteLength}-` } });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${bytes.byteLength}`);
      expect(res.headers.get('cache-control')).toBeNull();
      await res.arrayBuffer();
    });

    it.each(['bytes=0-1,4-5', 'bytes=9-2', 'lines=1-2'])('answers malformed or multi-range %s with the full file', async (range) => {
      const res = await h.get(`/media/${id}`, { headers: { range } });
      expect(res.status).toBe(200);
      expectSameBytes(await bodyBytes(res), bytes);
    });

    it('honours If-Range with the current ETag and ignores Range otherwise', async () => {
      const matching = await h.get(`/media/${id}`, { headers: { range: 'bytes=0-9', 'if-range': etag } });
      expect(matching.status).toBe(206);
      expect((await bodyBytes(matching)).byteLength).toBe(10);
      const stale = await h.get(`/media/${id}`, { headers: { range: 'bytes=0-9', 'if-range': '"0000"' } });
      expect(stale.status).toBe(200);
      expectSameBytes(await bodyBytes(stale), bytes);
    });

    it('answers If-None-Match with 304 for GET and HEAD without touching the CDN', async () => {
      for (const method of ['GET', 'HEAD']) {
        const res = await h.get(`/media/${id}`, { method, headers: { 'if-none-match': etag } });
        expect(res.status).toBe(304);
        expect(res.headers.get('etag')).toBe(etag);
        expect(res.headers.get('cache-control')).toContain('immutable');
      }
      expect(h.fake.count('cdn')).toBe(0);
    });

    it('plays like a <video>: bytes=0-1, then a mid-file range, then an open range to the end', async () => {
      const first = await h.get(`/media/${id}`, { headers: { range: 'bytes=0-1' } });
      expect(first.status).toBe(206);
      expect(first.headers.get('content-range')).toBe(`bytes 0-1/${bytes.byteLength}`);
      expectSameBytes(await bodyBytes(first), bytes.subarray(0, 2));
      const mid = Math.floor(bytes.byteLength / 2);
      const seek = await h.get(`/media/${id}`, { headers: { range: `bytes=${mid}-${mid + 4095}` } });
      expect(seek.status).toBe(206);
      expectSameBytes(await bodyBytes(seek), bytes.subarray(mid, mid + 4096));
      const rest = await h.get(`/media/${id}`, { headers: { range: `bytes=${mid}-` } });
      expect(rest.status).toBe(206);
      expect(rest.headers.get('content-range')).toBe(`bytes ${mid}-${bytes.byteLength - 1}/${bytes.byteLength}`);
      expectSameBytes(await bodyBytes(rest), bytes.subarray(mid));
    });
  });

  it('slices a cached file in memory: ranges after the first download never reach the CDN', async () => {
    await (await h.get(`/media/${SMALL_ID}`)).arrayBuffer();
    for (const range of ['bytes=0-1', 'bytes=500-', 'bytes=-10']) await (await h.get(`/media/${SMALL_ID}`, { headers: { range } })).arrayBuffer();
    expect(h.fake.count('cdn', SMALL_ID)).toBe(1);
  });

  it('answers HEAD and 304 for a cached file from memory, without Graph', async () => {
    await (await h.get(`/media/${SMALL_ID}`)).arrayBuffer();
    const head = await h.get(`/media/${SMALL_ID}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(small.byteLength));
    const cond = await h.get(`/media/${SMALL_ID}`, { headers: { 'if-none-match': `W/"${sha256Hex(small)}"` } });
    expect(cond.status).toBe(304);
    expect(h.fake.count('graph', SMALL_ID)).toBe(1);
  });

  it('fetches a range of a large file from the CDN as that range, never the whole file', async () => {
    const res = await h.get(`/media/${LARGE_ID}`, { headers: { range: 'bytes=1000000-1000099' } });
    expectSameBytes(await bodyBytes(res), large.subarray(1_000_000, 1_000_100));
    const cdn = h.fake.requests.filter((r) => r.kind === 'cdn');
    expect(cdn.map((r) => r.headers.range)).toEqual(['bytes=1000000-1000099']);
    expect(h.fake.cdnBytesSent).toBe(100);
  });

  it('refuses to pass on a CDN answer to a different range than asked', async () => {
    h.fake.scriptDownload(LARGE_ID, { ignoreRange: true });
    const res = await h.get(`/media/${LARGE_ID}`, { headers: { range: 'bytes=10-19' } });
    expect(res.status).toBe(502);
    expect((await res.json()).code).toBe('upstream_invalid_response');
  });

  it('never caches a streamed file: each full request downloads again', async () => {
    await (await h.get(`/media/${LARGE_ID}`)).arrayBuffer();
    await (await h.get(`/media/${LARGE_ID}`)).arrayBuffer();
    expect(h.fake.count('cdn', LARGE_ID)).toBe(2);
    expect(h.proxy.memory.entries).toBe(0);
  });
});
