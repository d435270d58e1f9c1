import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createJsonLogger } from '../../src/logger.js';
import { openNodeStore } from '../../src/runtime/node-store.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, TEST_SECRET, type Harness } from '../support/proxy-harness.js';
import { eventually } from '../support/eventually.js';

/**
 * The whole proxy over an S3 store: what a restart plus Meta forgetting the id leaves is the bucket,
 * and that alone must answer, Range included, without a Graph lookup or a CDN download.
 */

const SMALL_ID = '1500000000000001';
const LARGE_ID = '1500000000000002';
const small = makeBytes(200 * 1024, 21);
const large = makeBytes(3 * 1024 * 1024 + 333, 22);

describe('proxy with STORE_URL=s3://…', () => {
  let fake: FakeWhatsApp;
  let s3: FakeS3;
  let h: Harness | undefined;

  beforeEach(async () => {
    fake = await new FakeWhatsApp().start();
    s3 = await startFakeS3();
    fake.addMedia(SMALL_ID, { bytes: small, mimeType: 'image/jpeg' }).addMedia(LARGE_ID, { bytes: large, mimeType: 'video/mp4' });
  });
  afterEach(async () => {
    await h?.close();
    await s3.close();
    await fake.stop();
  });

  /**
   * A fresh proxy, as after a restart: new memory, new store client, same bucket. The store comes from
   * the variables through loadConfig and openNodeStore, as src/node.ts builds it.
   */
  async function startProxy(): Promise<Harness> {
    const env = {
      // Small enough that the large file is streamed, not held in memory.
      CACHE_MAX_ITEM_BYTES: String(1024 * 1024),
      STORE_URL: `s3://${s3.bucket}/media`,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: s3.credentials.region,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    const config = loadConfig({ WHATSAPP_TOKEN: fake.token, JWT_SECRET: TEST_SECRET, ...env });
    const store = await openNodeStore(config.store, { clock: systemClock, logger: createJsonLogger('silent'), fetch: globalThis.fetch, timeoutMs: 2_000 });
    expect(store?.kind).toBe('s3');
    return startHarness({ fake, env, deps: { ...(store ? { store } : {}) } });
  }

  it('serves the right bytes after a restart and after Meta forgot the ids, Range included, asking Graph and the CDN nothing', async () => {
    h = await startProxy();
    expectSameBytes(await bodyBytes(await h.get(`/media/${SMALL_ID}`)), small);
    expectSameBytes(await bodyBytes(await h.get(`/media/${LARGE_ID}`)), large);
    await eventually(() => s3.objects.size === 2, 'both objects in the bucket', 5_000);
    const health = (await (await h.get('/healthz', { token: null })).json()) as { store: unknown };
    expect(health.store).toEqual({ kind: 's3' });
    expectSameBytes(s3.objects.get(`media/default/${LARGE_ID}`)!.bytes, large);
    await h.close();
    h = undefined;

    fake.deleteMedia(SMALL_ID).deleteMedia(LARGE_ID);
    const upstreamBefore = fake.requests.filter((r) => r.kind !== 'other').length;
    h = await startProxy();

    expectSameBytes(await bodyBytes(await h.get(`/media/${SMALL_ID}`)), small);
    const ranged = await h.get(`/media/${LARGE_ID}`, { headers: { range: 'bytes=2000000-2099999' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 2000000-2099999/${large.byteLength}`);
    expectSameBytes(await bodyBytes(ranged), large.subarray(2_000_000, 2_100_000));
    expect(s3.requests.at(-1)!.headers.range).toBe('bytes=2000000-2099999');
    const whole = await h.get(`/media/${LARGE_ID}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expectSameBytes(await bodyBytes(whole), large);
    const tail = await h.get(`/media/${SMALL_ID}`, { headers: { range: 'bytes=-100' } });
    expect(tail.status).toBe(206);
    expectSameBytes(await bodyBytes(tail), small.subarray(small.byteLength - 100));

    expect(fake.requests.filter((r) => r.kind !== 'other').length).toBe(upstreamBefore);
  });

  it('DELETE /media/:id with media:delete erases the object from the bucket', async () => {
    h = await startProxy();
    expectSameBytes(await bodyBytes(await h.get(`/media/${SMALL_ID}`)), small);
    await eventually(() => s3.objects.size === 1, 'the object in the bucket', 5_000);
    const token = await h.token({ media: [SMALL_ID], scope: 'media:delete' });
    const erased = await h.get(`/media/${SMALL_ID}`, { method: 'DELETE', token });
    expect(erased.status).toBe(204);
    expect(s3.objects.size).toBe(0);
    expect(s3.requests.at(-1)).toMatchObject({ method: 'DELETE', key: `media/default/${SMALL_ID}`, status: 204 });

    // After a restart with Meta having forgotten the id, nothing is left to serve.
    await h.close();
    fake.deleteMedia(SMALL_ID);
    h = await startProxy();
    expect((await h.get(`/media/${SMALL_ID}`)).status).toBe(404);
  });

  it('still serves from Graph and the CDN while the store is down', async () => {
    s3.setDown(true);
    h = await startProxy();
    const res = await h.get(`/media/${SMALL_ID}`);
    expect(res.status).toBe(200);
    expectSameBytes(await bodyBytes(res), small);
    expect(s3.objects.size).toBe(0);
  });
});
