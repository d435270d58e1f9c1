/**
 * The R2 store when things go wrong: R2 failing or hanging is a miss (logged) or a failed copy (the app
 * logs and counts it, and serves on), never a request that fails or waits.
 */
import { describe, expect, it } from 'vitest';
import type { Background } from '../../../src/cache/media-tier.js';
import type { R2StoreBucket } from '../../../src/runtime/r2-store.js';
import { bucket, chunksOf, copy, file, r2Store } from './r2-kit.js';

const failing = () => Promise.reject(new Error('R2 unavailable'));
const broken: R2StoreBucket = { head: failing, get: failing, put: failing, delete: failing };

describe('createR2Store when R2 fails', () => {
  it('answers a miss and logs a warning when R2 cannot be read', async () => {
    const { tier, messages, metrics } = r2Store(broken);
    const { key } = await file('920000001', 1_000, 37);
    expect(await tier.get(key)).toBeUndefined();
    expect(messages()).toEqual(['r2 store read failed']);
    expect(metrics()).toEqual([]);
  });

  it('fails the copy at the next chunk when the put failed', async () => {
    const { tier } = r2Store(broken);
    const { key, meta, bytes } = await file('920000002', 1_000, 41);
    // The first chunk is held back (src/runtime/r2-store.ts startPut); the one after it meets the failed put.
    const [first, second] = chunksOf(bytes, 500) as [Uint8Array, Uint8Array];
    const writer = tier.put(key, meta, { waitUntil: () => {} })!;
    await writer.write(first);
    await expect(writer.write(second)).rejects.toThrow('R2 unavailable');
    await expect(writer.commit()).rejects.toThrow();
    await expect(writer.abort()).resolves.toBeUndefined();
  });

  it('fails a copy R2 stops taking chunks from, after timeoutMs, instead of holding the download', async () => {
    // A put that never reads its body and never answers.
    const hanging: R2StoreBucket = { ...broken, put: () => new Promise(() => {}) };
    const { tier } = r2Store(hanging, 100);
    const { key, meta, bytes } = await file('920000003', 200_000, 43);
    const writer = tier.put(key, meta, { waitUntil: () => {} })!;
    const started = Date.now();
    let error: unknown;
    try {
      for (const chunk of chunksOf(bytes, 50_000)) await writer.write(chunk);
    } catch (caught) {
      error = caught;
    }
    expect(String(error)).toContain('r2 took longer than 100 ms to take a chunk');
    // Aborting the copy does not wait on the put that never answers either.
    await expect(writer.abort()).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('counts a malformed entry as an eviction, and nothing for hits, misses and aborted copies', async () => {
    const { tier, metrics, messages } = r2Store();
    const { key, meta, bytes } = await file('920000005', 10_000, 53);
    expect(await tier.get(key)).toBeUndefined();
    const aborted = tier.put(key, meta, { waitUntil: () => {} })!;
    await aborted.write(bytes);
    await aborted.abort();
    await copy(tier, key, meta, [bytes]);
    expect(await tier.get(key)).toBeDefined();
    await bucket.put('default/920000006', new Uint8Array(1));
    expect(await tier.get({ account: 'default', id: '920000006' })).toBeUndefined();
    expect(metrics()).toEqual(['eviction malformed']);
    expect(messages()).toEqual(['r2 store entry malformed; removed']);
  });

  it('hands the upload to background.waitUntil, so it may outlive the response', async () => {
    const pending: Promise<unknown>[] = [];
    const background: Background = { waitUntil: (promise) => void pending.push(promise) };
    const { tier } = r2Store();
    const { key, meta, bytes } = await file('920000007', 1_000, 59);
    const writer = tier.put(key, meta, background)!;
    await writer.write(bytes);
    expect(pending).toHaveLength(1);
    await writer.commit();
    await Promise.all(pending);
    expect((await bucket.head('default/920000007'))?.size).toBe(1_000);
  });
});
