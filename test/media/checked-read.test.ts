/**
 * A stored copy the proxy did not write itself (here: found by the start scan after a restart) is
 * checked against its sha256 on its first read, through the download's guard, on a real directory
 * store. The memory tier is off, so every read is a store read and no copy into memory races the check.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { noopMetrics } from '../../src/metrics.js';
import { openDirectoryStore, type DirectoryStore } from '../../src/runtime/directory-store.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { eventually } from '../support/eventually.js';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { ManualClock, startHarness, type Harness } from '../support/proxy-harness.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ID = '660000000000001';
const photo = makeBytes(300_000, 66);
const key = { account: 'default', id: ID };

describe('stored copies this process did not write', () => {
  let fake: FakeWhatsApp;
  let temp: TempStore;
  let store: DirectoryStore;
  let h: Harness;
  let mismatches = 0;
  const stored = () => join(temp.root, 'default', ID);

  /** A proxy over `store` with no memory tier. */
  const proxyOver = (over: DirectoryStore) =>
    startHarness({ fake, deps: { store: over, metrics: { ...noopMetrics, integrityMismatch: () => void mismatches++ } }, env: { CACHE_MAX_BYTES: '0' } });

  beforeEach(async () => {
    fake = await new FakeWhatsApp().start();
    mismatches = 0;
    fake.addMedia(ID, { bytes: photo, mimeType: 'image/jpeg' });
    temp = await openTempStore();
    h = await proxyOver(temp.store);
    expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
    await h.proxy.loader.drain();
    await h.close();
    // The restart: a new store over the same directory, knowing the file only from its scan.
    store = await openDirectoryStore({ root: temp.root, maxBytes: 10_000_000, maxAgeMs: 0, clock: new ManualClock(), logger: silentLogger, sweepIntervalMs: 0 });
    h = await proxyOver(store);
  });
  afterEach(async () => {
    await h.close();
    await store.close();
    await temp.remove();
    await fake.stop();
  });

  /** Flips the file's last byte on disk, as a bad sector or a careless copy would. */
  async function corrupt(): Promise<void> {
    const bytes = await readFile(stored());
    bytes.writeUInt8(bytes.readUInt8(bytes.byteLength - 1) ^ 0xff, bytes.byteLength - 1);
    await writeFile(stored(), bytes);
  }

  /** Reads a body to its end or its failure: the bytes received, and whether it failed. */
  async function readOut(res: Response): Promise<{ received: number; failed: boolean }> {
    const reader = res.body!.getReader();
    let received = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { received, failed: false };
        received += value.byteLength;
      }
    } catch {
      return { received, failed: true };
    }
  }

  const mismatchLogged = () => h.logEntries().find((e) => e.msg === 'stored copy did not match its sha256; removed, not served');

  it('serves a stored file after Meta forgot the id once its bytes matched, and checks it only once', async () => {
    fake.deleteMedia(ID);
    expect((await store.get(key))!.confirm).toBeInstanceOf(Function);
    const res = await h.get(`/media/${ID}`);
    expect(res.status).toBe(200);
    expectSameBytes(await bodyBytes(res), photo);
    expect((await store.get(key))!.confirm).toBeUndefined();
    expect(h.logEntries().filter((e) => e.msg === 'request').map((e) => e.cache)).toEqual(['hit:store']);
    expect(mismatchLogged()).toBeUndefined();
    expect(mismatches).toBe(0);
  });

  it('cuts a corrupt stored file off before its last byte, removes it, and downloads it again next time', async () => {
    await corrupt();
    const bad = await h.get(`/media/${ID}`);
    expect(bad.status).toBe(200);
    const { received, failed } = await readOut(bad);
    expect(failed).toBe(true);
    expect(received).toBeLessThan(photo.byteLength);
    expect(mismatchLogged()).toMatchObject({ level: 'error', mediaId: ID, tier: 'store' });
    expect(mismatches).toBe(1);
    await eventually(() => !existsSync(stored()), 'the corrupt copy removed', 5_000);
    const good = await h.get(`/media/${ID}`);
    expectSameBytes(await bodyBytes(good), photo);
    expect(fake.count('cdn', ID)).toBe(2);
  });

  it('never serves a corrupt stored file whole, even when Meta forgot the id', async () => {
    await corrupt();
    fake.deleteMedia(ID);
    expect((await readOut(await h.get(`/media/${ID}`))).failed).toBe(true);
    await eventually(() => !existsSync(stored()), 'the corrupt copy removed', 5_000);
    const after = await h.get(`/media/${ID}`);
    expect(after.status).toBe(404);
    expect((await after.json()).code).toBe('media_not_found');
  });

  it('answers a range of a corrupt stored file from the CDN instead, checking the whole file before any byte', async () => {
    await corrupt();
    const res = await h.get(`/media/${ID}`, { headers: { range: 'bytes=1000-1999' } });
    expect(res.status).toBe(206);
    expectSameBytes(await bodyBytes(res), photo.subarray(1000, 2000));
    expect(mismatchLogged()).toBeDefined();
    expect(fake.count('cdn', ID)).toBeGreaterThanOrEqual(2);
  });

  it('answers a range of a good stored file once the whole file matched', async () => {
    fake.deleteMedia(ID);
    const res = await h.get(`/media/${ID}`, { headers: { range: 'bytes=1000-1999' } });
    expect(res.status).toBe(206);
    expectSameBytes(await bodyBytes(res), photo.subarray(1000, 2000));
    expect((await store.get(key))!.confirm).toBeUndefined();
  });
});
