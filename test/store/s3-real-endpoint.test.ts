import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { inlineBackground, type MediaKey } from '../../src/cache/media-tier.js';
import { loadConfig, type S3StoreConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { createS3Store } from '../../src/store/s3-store.js';
import { expectSameBytes } from '../support/bytes.js';
import { makeBytes } from '../support/fake-whatsapp.js';
import { feed, media, readAll, storeFile } from './s3-kit.js';

/**
 * Opt-in: the S3 store against a real endpoint (AWS S3, R2's S3 API, MinIO), read from the same
 * variables the proxy reads plus S3_TEST_URL (s3://bucket/prefix). Everything is written under a fresh
 * random prefix below it and removed afterwards. Skipped when S3_TEST_URL is unset (README, "S3-compatible
 * stores").
 */
const enabled = (process.env.S3_TEST_URL ?? '') !== '';

function realStoreConfig(): S3StoreConfig {
  const store = loadConfig({
    ...process.env,
    STORE_URL: process.env.S3_TEST_URL,
    // loadConfig validates the whole configuration; these two are not used by the store.
    WHATSAPP_TOKEN: 'unused-by-this-test',
    JWT_SECRET: randomBytes(32).toString('hex'),
  }).store;
  if (store.kind !== 's3') throw new Error('S3_TEST_URL must be an s3:// URL');
  const run = `wamp-test-${Date.now()}-${randomBytes(4).toString('hex')}`;
  return { ...store, prefix: store.prefix === '' ? run : `${store.prefix}/${run}` };
}

describe.skipIf(!enabled)('S3 store against the real endpoint in S3_TEST_URL', () => {
  const config = enabled ? realStoreConfig() : undefined;
  const store = () => createS3Store({ config: config!, fetch: (input, init) => fetch(input, init), logger: silentLogger, timeoutMs: 30_000 });
  const written: MediaKey[] = [];
  afterAll(async () => {
    const cleaner = store();
    await Promise.all(written.map((key) => cleaner.delete(key, inlineBackground).catch(() => {})));
  });

  const file = media('1300000000000001', 3 * 1024 * 1024 + 17, 11, 'video/mp4');

  it('round-trips a file with its metadata, and serves a range as a range', async () => {
    written.push(file.key);
    await storeFile(store(), file);
    const hit = await store().get(file.key);
    expect(hit?.meta).toEqual(file.meta);
    expectSameBytes(await readAll(await hit!.open(undefined)), file.bytes);
    expectSameBytes(await readAll(await hit!.open({ start: 1_000_000, end: 1_000_999 })), file.bytes.subarray(1_000_000, 1_001_000));
  });

  it('a second writer of the same id succeeds without changing the object', async () => {
    await storeFile(store(), file);
    expectSameBytes(await readAll(await (await store().get(file.key))!.open(undefined)), file.bytes);
  });

  it('is refused by the endpoint when the bytes do not match the sha256, and nothing is readable', async () => {
    const other = media('1300000000000002', 200_000, 12);
    written.push(other.key);
    const writer = store().put(other.key, other.meta, inlineBackground)!;
    await feed(writer, makeBytes(other.meta.size, 13));
    await expect(writer.commit()).rejects.toThrow();
    expect(await store().get(other.key)).toBeUndefined();
  });

  it('deletes', async () => {
    const s = store();
    await s.delete(file.key, inlineBackground);
    expect(await s.get(file.key)).toBeUndefined();
  });
});
