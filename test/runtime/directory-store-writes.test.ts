/**
 * The directory store on real temporary directories: what it makes readable and when (a committed
 * file whole or as a range, nothing before commit), what it refuses to take, what a refusing disk
 * leaves, and a directory shared with another store.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { chunksOf, key, metaOf, open, put, root, same, stored, tempFiles, useStoreDirectory } from './directory-store-fixtures.js';

useStoreDirectory();

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

  it('creates its temporary file at the first byte: a writer aborted before it leaves nothing, and an empty file is stored', async () => {
    const store = await open();
    const unused = store.put(key('106'), metaOf('106', makeBytes(1000, 6)), { waitUntil() {} })!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await tempFiles()).toEqual([]);
    await unused.abort(new Error('the CDN refused'));
    await expect(unused.write(new Uint8Array(10))).rejects.toThrow();
    expect(await tempFiles()).toEqual([]);
    const empty = new Uint8Array(0);
    await put(store, '107', empty);
    const hit = await store.get(key('107'));
    expect(hit?.meta).toEqual(metaOf('107', empty));
    expect(await chunksOf(hit!)).toEqual([]);
    expect(await tempFiles()).toEqual([]);
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

  it('a write the disk refuses before any byte leaves no temporary file and no open descriptor', async () => {
    // A real refusal, in a process of its own whose file-size limit is 0: its header write fails.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, '../support/full-disk-writer.ts'), root]);
    const left = JSON.parse(stdout) as { code: string; before: number; after: number; temporary: string[] };
    expect(left.code).toBe('EFBIG');
    expect(left.after).toBe(left.before);
    expect(left.temporary).toEqual([]);
  });

  it('takes no file larger than STORE_MAX_BYTES and no key that is not an account and a media id', async () => {
    const store = await open({ maxBytes: 1000 });
    expect(store.put(key('104'), metaOf('104', makeBytes(1000, 1)), { waitUntil() {} })).toBeUndefined();
    expect(store.put({ account: 'default', id: '../etc' }, metaOf('1', makeBytes(10, 1)), { waitUntil() {} })).toBeUndefined();
    expect(store.put({ account: '../x', id: '1' }, metaOf('1', makeBytes(10, 1)), { waitUntil() {} })).toBeUndefined();
    expect(await store.get({ account: 'default', id: '../../etc/passwd' })).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
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
});
