/** The loader's store-facing promises: drain() for shutdown, and a store hit copied into memory. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
