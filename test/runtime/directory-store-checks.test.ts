/**
 * The directory store vouching for its files: those it wrote, those found at start only once a read
 * matched, and a check forgotten when a rescan finds the file changed on disk, but kept across its own
 * hourly touch of the mtime.
 */
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { eventually } from '../support/eventually.js';
import { chunksOf, clock, HOUR, key, open, put, same, stored, useStoreDirectory } from './directory-store-fixtures.js';

useStoreDirectory();

describe('directory store', () => {
  it('vouches for the files it wrote; one found at start waits for a read that matched, and a rescan keeps that', async () => {
    const bytes = makeBytes(50_000, 9);
    const writer = await open();
    await put(writer, '711', bytes);
    expect((await writer.get(key('711')))!.confirm).toBeUndefined();
    // A restart: the start scan finds the file, which nobody has read since.
    const restarted = await open();
    const found = (await restarted.get(key('711')))!;
    expect(found.confirm).toBeInstanceOf(Function);
    // A confirm vouches for the file a whole read opened: none yet, nothing confirmed.
    found.confirm!();
    expect((await restarted.get(key('711')))!.confirm).toBeInstanceOf(Function);
    const read = (await restarted.get(key('711')))!;
    expect(same(await chunksOf(read), bytes)).toBe(true);
    read.confirm!();
    expect((await restarted.get(key('711')))!.confirm).toBeUndefined();
    await restarted.sweep();
    expect((await restarted.get(key('711')))!.confirm).toBeUndefined();
    // Written by another process sharing the directory: unconfirmed here too.
    await put(writer, '712', bytes);
    expect((await restarted.get(key('712')))!.confirm).toBeInstanceOf(Function);
  });

  /** Overwrites the last byte of a stored file in place: other bytes, the same size (a careless copy). */
  async function flipLastByte(id: string): Promise<void> {
    const file = await readFile(stored(id));
    file.writeUInt8(file.readUInt8(file.byteLength - 1) ^ 0xff, file.byteLength - 1);
    await writeFile(stored(id), file);
  }

  it('forgets that a file was checked when a rescan finds it changed on disk, even at the same size and mtime', async () => {
    const bytes = makeBytes(50_000, 10);
    const store = await open();
    await put(store, '713', bytes);
    await put(store, '715', bytes);
    await store.sweep();
    expect((await store.get(key('713')))!.confirm).toBeUndefined();
    const { mtime } = await stat(stored('715'));
    await flipLastByte('713');
    // As `cp -p` over it would: other bytes, then the old mtime set back.
    await flipLastByte('715');
    await utimes(stored('715'), mtime, mtime);
    await store.sweep();
    expect((await store.get(key('713')))!.confirm).toBeInstanceOf(Function);
    expect((await store.get(key('715')))!.confirm).toBeInstanceOf(Function);
  });

  it('does not let its own touch vouch for a file replaced since it was checked', async () => {
    const bytes = makeBytes(50_000, 12);
    const store = await open();
    await put(store, '716', bytes);
    await flipLastByte('716');
    clock.advance(2 * HOUR);
    // Served before the next rescan (unchecked, as the README says), which touches the file.
    await store.get(key('716'));
    await eventually(async () => Math.abs((await stat(stored('716'))).mtimeMs - clock.now()) < 1, 'the touch written', 5_000);
    await store.sweep();
    expect((await store.get(key('716')))!.confirm).toBeInstanceOf(Function);
  });

  it('keeps a check across its own hourly touch of the mtime', async () => {
    const bytes = makeBytes(50_000, 11);
    const store = await open();
    await put(store, '714', bytes);
    clock.advance(2 * HOUR);
    await store.get(key('714'));
    await eventually(async () => Math.abs((await stat(stored('714'))).mtimeMs - clock.now()) < 1, 'the touch written', 5_000);
    // A rescan may land while the touch finishes; the touch's own outcome then wins.
    await eventually(async () => (await store.sweep(), (await store.get(key('714')))!.confirm === undefined), 'still checked after rescans', 5_000);
  });
});
