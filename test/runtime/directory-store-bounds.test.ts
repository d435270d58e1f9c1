/**
 * The directory store on real temporary directories: both bounds (STORE_MAX_BYTES, least recently
 * served first; STORE_MAX_AGE_DAYS on sweep), the index rebuilt at start from mtimes, and a service
 * recorded as the mtime at most once an hour.
 */
import { existsSync } from 'node:fs';
import { stat, utimes } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { eventually } from '../support/eventually.js';
import { chunksOf, clock, DAY, fileBytes, HOUR, key, open, opened, put, same, stored, useStoreDirectory } from './directory-store-fixtures.js';

useStoreDirectory();

describe('directory store', () => {
  it('holds STORE_MAX_BYTES by removing the least recently served first; serving changes who goes', async () => {
    const size = 10_000;
    const store = await open({ maxBytes: 3 * fileBytes('201', size) });
    for (const id of ['201', '202', '203']) {
      await put(store, id, makeBytes(size, Number(id)));
      clock.advance(1000);
    }
    await store.get(key('201')); // 202 is now the least recently served
    await put(store, '204', makeBytes(size, 204));
    expect(existsSync(stored('202'))).toBe(false);
    expect(await store.get(key('202'))).toBeUndefined();
    for (const id of ['201', '203', '204']) expect(existsSync(stored(id)), id).toBe(true);
    expect(store.fill!()).toEqual({ bytes: 3 * fileBytes('201', size), entries: 3, maxBytes: 3 * fileBytes('201', size) });
  });

  it('removes on sweep the files not served for STORE_MAX_AGE_DAYS', async () => {
    const store = await open({ maxAgeMs: DAY });
    await put(store, '301', makeBytes(100, 1));
    clock.advance(12 * HOUR);
    await put(store, '302', makeBytes(100, 2));
    clock.advance(13 * HOUR); // 301: 25 h since written, 302: 13 h
    await store.sweep();
    expect(existsSync(stored('301'))).toBe(false);
    expect(existsSync(stored('302'))).toBe(true);
    expect(store.fill!().entries).toBe(1);
  });

  it('rebuilds its index at start from the files’ mtimes, never their atimes', async () => {
    const size = 1000;
    await put(await open(), '401', makeBytes(size, 1));
    await put(opened[0]!, '402', makeBytes(size, 2));
    const now = Date.now() / 1000;
    // 401 was read recently (atime) but last served long ago (mtime); 402 the other way round.
    await utimes(stored('401'), now, now - 3600);
    await utimes(stored('402'), now - 7200, now - 60);
    const restarted = await open({ maxBytes: fileBytes('201', size) });
    expect(restarted.fill!()).toMatchObject({ entries: 1 });
    expect(existsSync(stored('401'))).toBe(false);
    expect(same(await chunksOf((await restarted.get(key('402')))!), makeBytes(size, 2))).toBe(true);
  });

  it('records a service as the file’s mtime at most once an hour', async () => {
    const store = await open();
    await put(store, '501', makeBytes(100, 1));
    const written = (await stat(stored('501'))).mtimeMs;
    clock.advance(30 * 60_000);
    await store.get(key('501'));
    await settle();
    expect((await stat(stored('501'))).mtimeMs).toBe(written);
    clock.advance(31 * 60_000);
    const servedAt = clock.now();
    await store.get(key('501'));
    await eventually(async () => (await stat(stored('501'))).mtimeMs !== written, 'the hit to touch the file', 5_000);
    expect(Math.abs((await stat(stored('501'))).mtimeMs - servedAt)).toBeLessThan(1000);
    clock.advance(30 * 60_000);
    await store.get(key('501'));
    await settle();
    expect(Math.abs((await stat(stored('501'))).mtimeMs - servedAt)).toBeLessThan(1000);
  });
});

/** Lets fire-and-forget file system calls run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
