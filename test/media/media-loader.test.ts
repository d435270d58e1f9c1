/** The loader's store-facing promises: drain() for shutdown, and a store hit copied into memory. */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaCache } from '../../src/cache/media-cache.js';
import { inlineBackground, type MediaKey, type MediaMeta, type MediaTier } from '../../src/cache/media-tier.js';
import { createMemoryTier } from '../../src/cache/memory-tier.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { createMediaLoader } from '../../src/media/media-loader.js';
import { createNodeSha256 } from '../../src/runtime/node-sha256.js';
import { ManualClock } from '../support/proxy-harness.js';
import type { DirectoryStore } from '../../src/runtime/directory-store.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';
import { eventually } from '../support/eventually.js';

const ID = '650000000000001';
const photo = makeBytes(300_000, 65);
const key = { account: 'default', id: ID };

describe('media loader', () => {
  let h: Harness;
  let store: DirectoryStore;
  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore();
    store = temp.store;
  });
  afterEach(async () => {
    await h.close();
    await temp.remove();
  });

  it('drains: once drain() resolves, a download whose last byte just went out is in the store', async () => {
    h = await startHarness({ deps: { store } });
    h.fake.addMedia(ID, { bytes: photo, mimeType: 'image/jpeg' });
    expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
    await h.proxy.loader.drain();
    expect(await store.get(key)).toBeDefined();
  });

  it('streams a small store hit to the caller and copies it into memory for the next one', async () => {
    h = await startHarness({ deps: { store } });
    h.fake.addMedia(ID, { bytes: photo, mimeType: 'image/jpeg' });
    await bodyBytes(await h.get(`/media/${ID}`));
    await h.proxy.loader.drain();
    await h.close();
    // A restart: an empty memory tier over the same store, and Meta has forgotten the id.
    h = await startHarness({ deps: { store } });
    expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
    await eventually(() => h.proxy.memory.entries > 0, 'the store hit copied into memory', 5_000);
    expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
    expect(h.logEntries().filter((e) => e.msg === 'request').map((e) => e.cache)).toEqual(['hit:store', 'hit:memory']);
    expect(h.fake.count('graph', ID)).toBe(0);
  });
});

describe('copying a store hit into memory', () => {
  const meta: MediaMeta = { id: '650000000000009', mimeType: 'image/jpeg', sha256: 'a'.repeat(64), size: 4 };

  /** A store tier whose single entry reads as `read` does; it records deletions. */
  function storeTier(read: () => Promise<ReadableStream<Uint8Array>>) {
    const deleted: MediaKey[] = [];
    const tier: MediaTier = { name: 'store', get: () => ({ meta, open: read }), put: () => undefined, delete: async (k) => void deleted.push(k) };
    return { tier, deleted };
  }

  function loaderOver(store: MediaTier) {
    const memory = createMemoryTier({ maxBytes: 1000, maxItemBytes: 1000 });
    const cache = new MediaCache([memory, store]);
    const config = loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: 's'.repeat(32) });
    const loader = createMediaLoader({
      config,
      fetch: () => Promise.reject(new Error('no download expected')),
      userAgent: 'test',
      account: () => {
        throw new Error('no account expected');
      },
      cache,
      createSha256: createNodeSha256,
      clock: new ManualClock(),
      logger: silentLogger,
    });
    return { loader, cache, memory };
  }

  const key = { account: 'default', id: meta.id };

  it('keeps a stored entry it could not read just now (an I/O error is not corruption)', async () => {
    const { tier, deleted } = storeTier(() => Promise.reject(Object.assign(new Error('too many open files'), { code: 'EMFILE' })));
    const { loader, cache, memory } = loaderOver(tier);
    await loader.promote(key, (await cache.get(key))!, inlineBackground);
    expect(deleted).toEqual([]);
    expect(memory.entries).toBe(0);
  });

  it('removes a stored entry whose bytes do not match their sha256, and keeps nothing in memory', async () => {
    const { tier, deleted } = storeTier(async () => new Response(new Uint8Array([1, 2, 3, 4])).body!);
    const { loader, cache, memory } = loaderOver(tier);
    await loader.promote(key, (await cache.get(key))!, inlineBackground);
    expect(deleted).toEqual([key]);
    expect(memory.entries).toBe(0);
  });

  it('copies a file once when a burst of store hits asks for it at the same time', async () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const exact: MediaMeta = { ...meta, sha256: createHash('sha256').update(bytes).digest('hex') };
    let opens = 0;
    const tier: MediaTier = { name: 'store', get: () => ({ meta: exact, open: async () => (opens++, new Response(bytes).body!) }), put: () => undefined, delete: async () => {} };
    const { loader, cache, memory } = loaderOver(tier);
    const found = (await cache.get(key))!;
    await Promise.all([loader.promote(key, found, inlineBackground), loader.promote(key, found, inlineBackground), loader.promote(key, found, inlineBackground)]);
    expect(opens).toBe(1);
    expect(memory.entries).toBe(1);
  });
});
