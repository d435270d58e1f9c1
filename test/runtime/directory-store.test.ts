/**
 * The directory store on real temporary directories: what it makes readable and when, both bounds,
 * the index rebuilt from mtimes, malformed files, stale temporary files, and a shared directory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type MediaMeta, type TierHit } from '../../src/cache/media-tier.js';
import { createJsonLogger } from '../../src/logger.js';
import { openDirectoryStore, StoreStartError, TEMP_DIR, type DirectoryStore } from '../../src/runtime/directory-store.js';
import { encodeHeader } from '../../src/runtime/stored-file.js';
import { FakeWhatsApp, makeBytes, sha256Hex } from '../support/fake-whatsapp.js';
import { ManualClock, startHarness } from '../support/proxy-harness.js';
import { eventually } from '../support/eventually.js';

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;

let root: string;
let clock: ManualClock;
let logs: Array<Record<string, unknown>>;
const opened: DirectoryStore[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wmp-store-'));
  // File mtimes are real time; the store's clock starts there so the two agree.
  clock = new ManualClock(Date.now());
  logs = [];
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

async function open(options: { maxBytes?: number; maxAgeMs?: number } = {}): Promise<DirectoryStore> {
  const store = await openDirectoryStore({
    root,
    maxBytes: options.maxBytes ?? 1024 ** 3,
    maxAgeMs: options.maxAgeMs ?? 0,
    clock,
    logger: createJsonLogger('debug', (line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
    sweepIntervalMs: 0,
  });
  opened.push(store);
  return store;
}

const key = (id: string) => ({ account: 'default', id });
const metaOf = (id: string, bytes: Uint8Array): MediaMeta => ({ id, mimeType: 'image/jpeg', sha256: sha256Hex(bytes), size: bytes.byteLength });
/** A file's size on disk: its header plus its bytes, what STORE_MAX_BYTES counts. */
const fileBytes = (id: string, size: number) => encodeHeader('default', { id, mimeType: 'image/jpeg', sha256: '0'.repeat(64), size }).byteLength + size;

/** Writes `bytes` through the tier's writer in chunks, then commits. */
async function put(store: DirectoryStore, id: string, bytes: Uint8Array, { commit = true } = {}) {
  const writer = store.put(key(id), metaOf(id, bytes), { waitUntil() {} });
  if (writer === undefined) throw new Error('the store refused the file');
  for (let at = 0; at < bytes.byteLength; at += 100_000) await writer.write(bytes.subarray(at, at + 100_000));
  if (commit) await writer.commit();
  return writer;
}

async function chunksOf(hit: TierHit, range?: { start: number; end: number }): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of await hit.open(range)) out.push(chunk);
  return out;
}
/** Byte equality without a deep comparison per element (slow on megabytes, and an unreadable diff). */
const same = (a: Uint8Array | Uint8Array[], b: Uint8Array) => Buffer.concat(Array.isArray(a) ? a : [a]).equals(b);
const tempFiles = () => readdir(join(root, TEMP_DIR));
const stored = (id: string) => join(root, 'default', id);

describe('directory store', () => {
  it('serves a committed file whole and as a range, reading only that range', async () => {
    const store = await open();
    const bytes = makeBytes(3_000_000, 3);
    await put(store, '101', bytes);
    const hit = await store.get(key('101'));
    expect(hit?.meta).toEqual(metaOf('101', bytes));
    expect(same(await chunksOf(hit!), bytes)).toBe(true);
    // A 100-byte range of a 3 MB file arrives as one read of 100 bytes.
    const slice = await chunksOf(hit!, { start: 2_000_000, end: 2_000_099 });
    expect(slice.map((c) => c.byteLength)).toEqual([100]);
    expect(same(slice, bytes.subarray(2_000_000, 2_000_100))).toBe(true);
    // The last byte alone.
    expect(same(await chunksOf(hit!, { start: bytes.byteLength - 1, end: bytes.byteLength - 1 }), bytes.subarray(-1))).toBe(true);
  });

  it('makes nothing readable before commit: a write in progress is only a temporary file, an aborted one nothing', async () => {
    const store = await open();
    const bytes = makeBytes(250_000, 4);
    const writer = await put(store, '102', bytes, { commit: false });
    expect(await store.get(key('102'))).toBeUndefined();
    expect(existsSync(stored('102'))).toBe(false);
    expect(await tempFiles()).toHaveLength(1);
    await writer.abort(new Error('mismatch'));
    expect(await tempFiles()).toEqual([]);
    expect(existsSync(stored('102'))).toBe(false);
    expect(store.fill!()).toMatchObject({ bytes: 0, entries: 0 });
  });

  it('refuses more bytes than announced, and a commit of fewer', async () => {
    const store = await open();
    const bytes = makeBytes(1000, 5);
    const writer = store.put(key('103'), metaOf('103', bytes), { waitUntil() {} })!;
    await writer.write(bytes.subarray(0, 600));
    await expect(writer.commit()).rejects.toThrow(RangeError);
    await expect(writer.write(makeBytes(500, 6))).rejects.toThrow(RangeError);
    await writer.abort();
    expect(await store.get(key('103'))).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
  });

  it('a commit that fails leaves no temporary file, and its error names no path', async () => {
    const store = await open();
    // A regular file where the account directory goes: the rename into place cannot happen.
    await writeFile(join(root, 'default'), 'x');
    const writer = await put(store, '105', makeBytes(1000, 5), { commit: false });
    const failed = await writer.commit().then(() => undefined, (error: unknown) => error as Error & { code?: string });
    expect(failed?.code).toMatch(/^E[A-Z]+$/);
    expect(failed?.message).not.toContain(root);
    expect(await tempFiles()).toEqual([]);
    expect(await store.get(key('105'))).toBeUndefined();
  });

  it('takes no file larger than STORE_MAX_BYTES and no key that is not an account and a media id', async () => {
    const store = await open({ maxBytes: 1000 });
    expect(store.put(key('104'), metaOf('104', makeBytes(1000, 1)), { waitUntil() {} })).toBeUndefined();
    expect(store.put({ account: 'default', id: '../etc' }, metaOf('1', makeBytes(10, 1)), { waitUntil() {} })).toBeUndefined();
    expect(store.put({ account: '../x', id: '1' }, metaOf('1', makeBytes(10, 1)), { waitUntil() {} })).toBeUndefined();
    expect(await store.get({ account: 'default', id: '../../etc/passwd' })).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
  });

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

  it('takes a malformed file (a bad header, a wrong length) for a miss, removes it and logs it', async () => {
    await mkdir(join(root, 'default'), { recursive: true });
    const bytes = makeBytes(500, 7);
    await writeFile(stored('601'), Buffer.concat([Buffer.from('NOPE'), bytes]));
    await writeFile(stored('602'), Buffer.concat([encodeHeader('default', metaOf('602', bytes)), bytes.subarray(0, 499)]));
    await writeFile(stored('603'), Buffer.concat([encodeHeader('default', metaOf('9999', bytes)), bytes])); // another id's file
    await writeFile(stored('604'), Buffer.concat([encodeHeader('default', metaOf('604', bytes)), bytes]));
    const store = await open();
    for (const id of ['601', '602', '603']) {
      expect(await store.get(key(id)), id).toBeUndefined();
      expect(existsSync(stored(id)), id).toBe(false);
    }
    expect(logs.filter((l) => l.level === 'warn' && l.msg === 'stored file malformed; removed').map((l) => l.key)).toEqual(['default/601', 'default/602', 'default/603']);
    expect(await store.get(key('604'))).toBeDefined(); // the control: a well-formed file next to them
    expect(store.fill!().entries).toBe(1);
  });

  it('answers a request for a malformed stored file from upstream, and keeps the good copy instead', async () => {
    const id = '605';
    const bytes = makeBytes(300_000, 8);
    await mkdir(join(root, 'default'), { recursive: true });
    // A header announcing more bytes than the file holds: a file cut short by hand or by a bad disk.
    await writeFile(stored(id), Buffer.concat([encodeHeader('default', metaOf(id, bytes)), bytes.subarray(0, 1000)]));
    const fake = await new FakeWhatsApp().start();
    fake.addMedia(id, { bytes, mimeType: 'image/jpeg' });
    const harness = await startHarness({ fake, deps: { store: await open() } });
    try {
      const res = await harness.get(`/media/${id}`);
      expect(res.status).toBe(200);
      expect(same(new Uint8Array(await res.arrayBuffer()), bytes)).toBe(true);
      expect(fake.count('cdn', id)).toBe(1);
      expect(logs.find((l) => l.msg === 'stored file malformed; removed')).toMatchObject({ level: 'warn', key: `default/${id}` });
      await eventually(async () => (await stat(stored(id)).catch(() => undefined))?.size === encodeHeader('default', metaOf(id, bytes)).byteLength + bytes.byteLength, `${id} stored whole`, 5_000);
      expect(same((await readFile(stored(id))).subarray(-bytes.byteLength), bytes)).toBe(true);
    } finally {
      await harness.close();
      await fake.stop();
    }
  });

  it('removes at start the temporary files of this pid and of processes gone, keeps a live process’s', async () => {
    await mkdir(join(root, TEMP_DIR), { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const live = process.ppid;
    for (const name of [`${process.pid}-aa`, `${gone}-bb`, `${live}-cc`, 'garbage']) await writeFile(join(root, TEMP_DIR, name), 'partial');
    await open();
    expect(await tempFiles()).toEqual([`${live}-cc`]);
    expect(logs.find((l) => String(l.msg).startsWith('removed temporary store files'))).toMatchObject({ removed: 3 });
  });

  it('shares a directory: another store reads what one wrote, and a file vanishing under it is a miss', async () => {
    const one = await open();
    const other = await open();
    const bytes = makeBytes(50_000, 8);
    await put(one, '701', bytes);
    const hit = await other.get(key('701'));
    expect(same(await chunksOf(hit!), bytes)).toBe(true);
    await one.delete(key('701'), { waitUntil() {} });
    // `other` still knows the entry; opening it rejects, which the request path takes for a miss.
    await expect((await other.get(key('701')))!.open(undefined)).rejects.toThrow();
    await other.sweep();
    expect(await other.get(key('701'))).toBeUndefined();
    expect(other.fill!().entries).toBe(0);
    // The same id written by both at once: both commits succeed and the file is whole.
    await Promise.all([put(one, '702', bytes), put(other, '702', bytes)]);
    expect(same((await readFile(stored('702'))).subarray(-bytes.byteLength), bytes)).toBe(true);
    expect(await tempFiles()).toEqual([]);
  });

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

  it('starts on 20,000 stored files within a few seconds', async () => {
    await mkdir(join(root, 'default'), { recursive: true });
    const bytes = makeBytes(64, 9);
    const ids = Array.from({ length: 20_000 }, (_, i) => String(1_000_000 + i));
    for (let i = 0; i < ids.length; i += 500) {
      await Promise.all(ids.slice(i, i + 500).map((id) => writeFile(stored(id), Buffer.concat([encodeHeader('default', metaOf(id, bytes)), bytes]))));
    }
    const started = performance.now();
    const store = await open();
    const ms = performance.now() - started;
    console.info(`openDirectoryStore on 20,000 files: ${Math.round(ms)} ms`);
    expect(store.fill!()).toEqual({ bytes: 20_000 * fileBytes(ids[0]!, 64), entries: 20_000, maxBytes: 1024 ** 3 });
    expect(ms).toBeLessThan(10_000);
    expect(same(await chunksOf((await store.get(key(ids[12_345]!)))!), bytes)).toBe(true);
  }, 60_000);

  it('refuses to start on a directory it cannot create or write', async () => {
    await writeFile(join(root, 'a-file'), 'x');
    const under = openDirectoryStore({ root: join(root, 'a-file', 'media'), maxBytes: 1, maxAgeMs: 0, clock, logger: createJsonLogger('silent'), sweepIntervalMs: 0 });
    await expect(under).rejects.toThrow(StoreStartError);
    // As root, permissions do not stop a write; a regular file where the temporary directory goes does.
    await mkdir(join(root, 'media'));
    await writeFile(join(root, 'media', TEMP_DIR), 'x');
    const unwritable = openDirectoryStore({ root: join(root, 'media'), maxBytes: 1, maxAgeMs: 0, clock, logger: createJsonLogger('silent'), sweepIntervalMs: 0 });
    await expect(unwritable).rejects.toThrow(/cannot create or write the store directory \(E[A-Z]+\)/);
  });
});

/** Lets fire-and-forget file system calls run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

