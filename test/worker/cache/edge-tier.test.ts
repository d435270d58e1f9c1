/**
 * The Workers Cache API tier, inside workerd: shared by the isolates of a location (simulated by
 * fresh app instances over the same caches.default), keyed by the media id, written in the background.
 */
import { describe, expect, it } from 'vitest';
import { createEdgeTier, edgeCacheKey, type EdgeCache } from '../../../src/cache/edge-tier.js';
import type { Background, MediaKey, MediaMeta } from '../../../src/cache/media-tier.js';
import { createJsonLogger } from '../../../src/logger.js';
import { callerToken, fakeUpstream, sha256Hex } from '../fake-upstream.js';
import { freshIsolate, get } from '../proxy-client.js';

function collectingBackground(): Background & { settle(): Promise<unknown> } {
  const pending: Promise<unknown>[] = [];
  return { waitUntil: (promise) => void pending.push(promise), settle: () => Promise.all(pending) };
}

function capturingLogger() {
  const lines: string[] = [];
  return { logger: createJsonLogger('debug', (line) => lines.push(line)), messages: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

async function media(id: string, size: number, seed: number): Promise<{ meta: MediaMeta; body: Uint8Array<ArrayBuffer> }> {
  const body = new Uint8Array(size).map((_, i) => (i * seed) & 0xff);
  return { meta: { id, mimeType: 'image/png', sha256: await sha256Hex(body), size }, body };
}

const key = (id: string): MediaKey => ({ account: 'default', id });
const MAX_ITEM = 1024 * 1024;

/** Writes `entry` through the tier's writer, as a verified download does. */
async function put(tier: ReturnType<typeof createEdgeTier>, entry: { meta: MediaMeta; body: Uint8Array }, background: Background): Promise<void> {
  const writer = tier.put(key(entry.meta.id), entry.meta, background)!;
  await writer.write(entry.body);
  await writer.commit();
}

describe('edge tier through the proxy', () => {
  it('serves a new isolate from caches.default without asking Graph or the CDN', async () => {
    const { sha256 } = await fakeUpstream.addMedia({ id: '810000001', size: 200_000, seed: 31, mimeType: 'image/jpeg' });
    const first = freshIsolate();
    expect((await get(first.fetch, '/media/810000001')).status).toBe(200);
    await first.settle();

    // Another caller with another token, on another isolate.
    const second = freshIsolate();
    const token = await callerToken({ media: ['810000001'] });
    for (let i = 0; i < 2; i++) {
      const res = await get(second.fetch, '/media/810000001', { token });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('content-length')).toBe('200000');
      expect(res.headers.get('etag')).toBe(`"${sha256}"`);
      // The caller sees the proxy's headers, not the ones stored for the tier.
      expect(res.headers.get('cache-control')).toBe('private, max-age=86400, immutable, no-transform');
      expect(res.headers.get('x-media-sha256')).toBeNull();
      expect(await sha256Hex(await res.arrayBuffer())).toBe(sha256);
    }
    expect(second.logEntries().filter((e) => e.msg === 'request').map((e) => e.cache)).toEqual(['hit:edge', 'hit:memory']);
    expect(await fakeUpstream.count('graph', '810000001')).toBe(1);
    expect(await fakeUpstream.count('cdn', '810000001')).toBe(1);
  });

  it('answers Range, HEAD and If-None-Match on an edge-cached entry from the edge', async () => {
    const { sha256 } = await fakeUpstream.addMedia({ id: '810000002', size: 100_000, seed: 32, mimeType: 'audio/mpeg' });
    const loader = freshIsolate();
    const whole = new Uint8Array(await (await get(loader.fetch, '/media/810000002')).arrayBuffer());
    await loader.settle();

    const ranged = await get(freshIsolate().fetch, '/media/810000002', { headers: { range: 'bytes=10-99' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 10-99/100000');
    expect(ranged.headers.get('content-length')).toBe('90');
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(whole.subarray(10, 100));

    const head = await get(freshIsolate().fetch, '/media/810000002', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');
    expect(head.headers.get('etag')).toBe(`"${sha256}"`);
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const unchanged = await get(freshIsolate().fetch, '/media/810000002', { headers: { 'if-none-match': `"${sha256}"` } });
    expect(unchanged.status).toBe(304);

    expect(await fakeUpstream.count('graph', '810000002')).toBe(1);
    expect(await fakeUpstream.count('cdn', '810000002')).toBe(1);
  });

  it('keys the entry by the account and media id alone', async () => {
    await fakeUpstream.addMedia({ id: '810000003', size: 1_000, seed: 33, mimeType: 'image/png' });
    const isolate = freshIsolate();
    await get(isolate.fetch, '/media/810000003');
    await isolate.settle();
    const stored = await caches.default.match(edgeCacheKey(key('810000003')));
    expect(stored?.headers.get('x-media-size')).toBe('1000');
    await stored?.arrayBuffer();
  });

  it('leaves files larger than CACHE_MAX_ITEM_BYTES out: they stream from the CDN every time', async () => {
    await fakeUpstream.addMedia({ id: '810000004', size: 1_200_000, seed: 34, mimeType: 'video/mp4' });
    const isolate = freshIsolate();
    await (await get(isolate.fetch, '/media/810000004')).arrayBuffer();
    await isolate.settle();
    expect(await caches.default.match(edgeCacheKey(key('810000004')))).toBeUndefined();
  });
});

describe('createEdgeTier', () => {
  it('writes through background.waitUntil and reads back the same bytes and metadata', async () => {
    const cache = await caches.open('edge-tier-roundtrip');
    const { logger } = capturingLogger();
    const tier = createEdgeTier({ cache, logger, maxItemBytes: MAX_ITEM });
    const entry = await media('820000001', 4_096, 3);
    const background = collectingBackground();
    await put(tier, entry, background);
    await background.settle();
    const read = await createEdgeTier({ cache, logger, maxItemBytes: MAX_ITEM }).get(key('820000001'));
    expect(read?.meta).toEqual(entry.meta);
    expect(read?.bytes).toEqual(entry.body);
    // Nothing reaches the cache before commit: a writer aborted after all its bytes leaves no entry.
    const aborted = tier.put(key('820000004'), entry.meta, background)!;
    await aborted.write(entry.body);
    await aborted.abort();
    await background.settle();
    expect(await cache.match(edgeCacheKey(key('820000004')))).toBeUndefined();
  });

  it('drops an entry whose length does not match what it claims', async () => {
    const cache = await caches.open('edge-tier-truncated');
    const entryKey = edgeCacheKey(key('820000002'));
    await cache.put(entryKey, new Response(new Uint8Array(10), { headers: { 'content-type': 'image/png', 'x-media-sha256': 'a'.repeat(64), 'x-media-size': '11', 'cache-control': 'max-age=60' } }));
    const { logger, messages } = capturingLogger();
    expect(await createEdgeTier({ cache, logger, maxItemBytes: MAX_ITEM }).get(key('820000002'))).toBeUndefined();
    expect(await cache.match(entryKey)).toBeUndefined();
    expect(messages()).toEqual(['edge cache entry malformed; dropped']);
  });

  it('treats a failing cache as a miss and logs failed writes without throwing', async () => {
    const broken: EdgeCache = {
      match: () => Promise.reject(new Error('cache unavailable')),
      put: () => Promise.reject(new Error('cache full')),
      delete: () => Promise.resolve(false),
    };
    const { logger, messages } = capturingLogger();
    const tier = createEdgeTier({ cache: broken, logger, maxItemBytes: MAX_ITEM });
    expect(await tier.get(key('820000003'))).toBeUndefined();
    const background = collectingBackground();
    await put(tier, await media('820000003', 10, 1), background);
    await background.settle();
    expect(messages()).toEqual(['edge cache read failed', 'edge cache write failed']);
  });
});
