/**
 * A stored copy the proxy did not write itself (here: found by the start scan after a restart) is
 * checked against its sha256 on its first read, on a real directory store: a file memory takes is
 * checked whole before anything is sent; a larger one (here: the memory tier off) as it streams.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { noopMetrics } from '../../src/metrics.js';
import { openDirectoryStore, type DirectoryStore } from '../../src/runtime/directory-store.js';
import type { ByteRange, StoreTier, TierHit } from '../../src/cache/media-tier.js';
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
  /** Per test: a stray background check of an earlier test counts into that test's tally, not this one. */
  let tally = { mismatches: 0 };
  /** Every open of a stored file (undefined: the whole file), through the tier the proxy reads. */
  let opens: Array<ByteRange | undefined> = [];
  /** When set, a whole-file open waits until the store was asked this many times (requests arrived). */
  let holdWholeUntilAsked: { readonly asks: number; readonly release: Promise<void>; arrived(): void } | undefined;
  let asks = 0;
  const stored = () => join(temp.root, 'default', ID);

  /** The store as the proxy sees it, recording each open of a hit. */
  const recording = (over: DirectoryStore): StoreTier => ({
    ...over,
    get: async (k) => {
      const hit = await over.get(k);
      if (++asks >= (holdWholeUntilAsked?.asks ?? 0)) holdWholeUntilAsked?.arrived();
      return (
        hit &&
        ({
          ...hit,
          open: async (range) => {
            opens.push(range);
            if (range === undefined) await holdWholeUntilAsked?.release;
            return hit.open(range);
          },
        } satisfies TierHit)
      );
    },
  });
  const proxyOver = (over: DirectoryStore, env: Record<string, string>) => {
    const counts = tally;
    return startHarness({ fake, deps: { store: recording(over), metrics: { ...noopMetrics, integrityMismatch: () => void counts.mismatches++ } }, env });
  };

  /** The file stored by a proxy, then a restart with `env`: a new store over the same directory. */
  async function restartedWith(env: Record<string, string>): Promise<void> {
    h = await proxyOver(temp.store, {});
    expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
    await h.proxy.loader.drain();
    await h.close();
    store = await openDirectoryStore({ root: temp.root, maxBytes: 10_000_000, maxAgeMs: 0, clock: new ManualClock(), logger: silentLogger, sweepIntervalMs: 0 });
    h = await proxyOver(store, env);
    opens = [];
    asks = 0;
    holdWholeUntilAsked = undefined;
  }

  beforeEach(async () => {
    fake = await new FakeWhatsApp().start();
    fake.addMedia(ID, { bytes: photo, mimeType: 'image/jpeg' });
    tally = { mismatches: 0 };
    temp = await openTempStore();
  });
  afterEach(async () => {
    await h.close();
    await store.close();
    await temp.remove();
    await fake.stop();
  });

  /** Flips one byte of the media on disk (the last by default), as a bad sector or a careless copy would. */
  async function corrupt(at = photo.byteLength - 1): Promise<void> {
    const bytes = await readFile(stored());
    const offset = bytes.byteLength - photo.byteLength + at;
    bytes.writeUInt8(bytes.readUInt8(offset) ^ 0xff, offset);
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

  /** Holds whole-file opens until the store has been asked `count` more times than so far. */
  function holdUntilAsked(count: number): void {
    let arrived = () => {};
    const release = new Promise<void>((resolve) => (arrived = resolve));
    holdWholeUntilAsked = { asks: asks + count, release, arrived };
  }

  const mismatchLogs = () => h.logEntries().filter((e) => e.msg === 'stored copy did not match its sha256; removed, never served whole');
  const cacheOutcomes = () => h.logEntries().filter((e) => e.msg === 'request').map((e) => e.cache);

  describe('a file memory takes', () => {
    beforeEach(() => restartedWith({}));

    it('is checked whole before it is sent, then served from memory, after Meta forgot the id', async () => {
      fake.deleteMedia(ID);
      expect((await store.get(key))!.confirm).toBeInstanceOf(Function);
      expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
      expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`, { headers: { range: 'bytes=10-19' } })), photo.subarray(10, 20));
      expect(cacheOutcomes()).toEqual(['hit:store', 'hit:memory']);
      expect(opens).toEqual([undefined]);
      expect((await store.get(key))!.confirm).toBeUndefined();
      expect(tally.mismatches).toBe(0);
    });

    it('when corrupt, is answered from upstream instead, removed, and reported once', async () => {
      await corrupt();
      const res = await h.get(`/media/${ID}`);
      expect(res.status).toBe(200);
      expectSameBytes(await bodyBytes(res), photo);
      expect(cacheOutcomes()).toEqual(['miss']);
      expect(mismatchLogs()).toHaveLength(1);
      expect(mismatchLogs()[0]).toMatchObject({ level: 'error', mediaId: ID, tier: 'store' });
      expect(tally.mismatches).toBe(1);
      expect(fake.count('cdn', ID)).toBe(2);
    });

    it('when corrupt, answers a burst of first requests from upstream, checked and reported once', async () => {
      await corrupt();
      holdUntilAsked(3);
      const answers = await Promise.all([1, 2, 3].map(() => h.get(`/media/${ID}`)));
      for (const res of answers) expectSameBytes(await bodyBytes(res), photo);
      expect(opens).toEqual([undefined]);
      expect(tally.mismatches).toBe(1);
      expect(mismatchLogs()).toHaveLength(1);
    });

    it('when corrupt and Meta forgot the id, answers 404 rather than a byte of it', async () => {
      await corrupt();
      fake.deleteMedia(ID);
      const res = await h.get(`/media/${ID}`);
      expect(res.status).toBe(404);
      expect((await res.json()).code).toBe('media_not_found');
      await eventually(() => !existsSync(stored()), 'the corrupt copy removed', 5_000);
    });
  });

  describe('a file too large for memory', () => {
    beforeEach(() => restartedWith({ CACHE_MAX_ITEM_BYTES: String(photo.byteLength - 1) }));

    it('streams at once and is checked as it streams, only the first time', async () => {
      fake.deleteMedia(ID);
      expect((await store.get(key))!.confirm).toBeInstanceOf(Function);
      expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
      expect((await store.get(key))!.confirm).toBeUndefined();
      expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
      expect(cacheOutcomes()).toEqual(['hit:store', 'hit:store']);
      expect(tally.mismatches).toBe(0);
    });

    for (const range of [undefined, 'bytes=0-']) {
      it(`when corrupt, is cut off before its last byte, removed, and downloaded again next time (${range ?? 'no range'})`, async () => {
        await corrupt();
        const bad = await h.get(`/media/${ID}`, range ? { headers: { range } } : {});
        expect(bad.status).toBe(range ? 206 : 200);
        const { received, failed } = await readOut(bad);
        expect(failed).toBe(true);
        expect(received).toBeLessThan(photo.byteLength);
        expect(mismatchLogs()).toHaveLength(1);
        expect(tally.mismatches).toBe(1);
        await eventually(() => !existsSync(stored()), 'the corrupt copy removed', 5_000);
        expectSameBytes(await bodyBytes(await h.get(`/media/${ID}`)), photo);
        expect(fake.count('cdn', ID)).toBe(2);
      });
    }

    it('when corrupt inside a range asked for, answers the range from the CDN, checked before any byte', async () => {
      await corrupt(1500);
      const res = await h.get(`/media/${ID}`, { headers: { range: 'bytes=1000-1999' } });
      expect(res.status).toBe(206);
      expectSameBytes(await bodyBytes(res), photo.subarray(1000, 2000));
      expect(cacheOutcomes()).not.toContain('hit:store');
      expect(tally.mismatches).toBe(1);
    });

    it('answers ranges of a good file once the whole file matched, one check for the ranges that came together', async () => {
      fake.deleteMedia(ID);
      expect((await store.get(key))!.confirm).toBeInstanceOf(Function);
      // The first range's check reads nothing until the second range has asked the store too.
      holdUntilAsked(2);
      const [a, b] = await Promise.all([h.get(`/media/${ID}`, { headers: { range: 'bytes=1000-1999' } }), h.get(`/media/${ID}`, { headers: { range: 'bytes=5000-5099' } })]);
      expectSameBytes(await bodyBytes(a!), photo.subarray(1000, 2000));
      expectSameBytes(await bodyBytes(b!), photo.subarray(5000, 5100));
      expect(opens.filter((r) => r === undefined)).toHaveLength(1);
      expect((await store.get(key))!.confirm).toBeUndefined();
    });
  });
});
