/**
 * The directory store on what it finds in its directory: malformed files (a miss, removed, logged,
 * answered from upstream), stale temporary files, 20,000 files at start, and a directory it cannot
 * create or write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../src/logger.js';
import { openDirectoryStore, StoreStartError, TEMP_DIR } from '../../src/runtime/directory-store.js';
import { encodeHeader } from '../../src/runtime/stored-file.js';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { startHarness } from '../support/proxy-harness.js';
import { eventually } from '../support/eventually.js';
import { chunksOf, clock, fileBytes, key, logs, metaOf, open, root, same, stored, tempFiles, useStoreDirectory } from './directory-store-fixtures.js';

useStoreDirectory();

describe('directory store', () => {
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
