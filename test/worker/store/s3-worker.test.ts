/**
 * The Worker with STORE_URL=s3://… (any S3-compatible bucket, reached over its S3 API): a verified
 * download ends up in the bucket, under the same key layout and metadata as on Node.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fakeS3 as s3, fakeS3Store } from '../fake-s3-store.js';
import { fakeUpstream } from '../fake-upstream.js';
import { freshIsolate, get } from '../proxy-client.js';

describe('Worker with an S3 store', () => {
  it('keeps a verified download in the bucket', async () => {
    const bindings = {
      ...(env as unknown as Record<string, unknown>),
      STORE_URL: `s3://${s3.bucket}/worker`,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const id = '1600000000000001';
    const { sha256 } = await fakeUpstream.addMedia({ id, size: 300_000, seed: 41, mimeType: 'image/png' });
    const isolate = freshIsolate(bindings);
    const res = await get(isolate.fetch, `/media/${id}`);
    expect(res.status).toBe(200);
    const served = new Uint8Array(await res.arrayBuffer());
    await isolate.settle();

    const hit = await fakeS3Store('worker').get({ account: 'default', id });
    expect(hit?.meta).toEqual({ id, mimeType: 'image/png', sha256, size: 300_000 });
    const stored = new Uint8Array(await new Response(await hit!.open(undefined)).arrayBuffer());
    expect(stored.byteLength).toBe(served.byteLength);
    expect(stored.every((byte, i) => byte === served[i])).toBe(true);
  });
});
