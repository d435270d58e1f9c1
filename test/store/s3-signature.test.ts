import { AwsV4Signer } from 'aws4fetch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineBackground } from '../../src/cache/media-tier.js';
import { createS3Addressing } from '../../src/store/s3-request.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { sha256Hex } from '../support/fake-whatsapp.js';
import { fakeConfig, feed, media, storeOn } from './s3-kit.js';

/**
 * The fake S3's signature check is what makes the store tests mean something, so it is tested to
 * refuse: a signer that gets anything wrong must fail there as it would against AWS.
 */

const photo = media('1200000000000001', 50_000, 5);

describe('the fake S3 checks SigV4 by its own code', () => {
  let fake: FakeS3;
  beforeEach(async () => {
    fake = await startFakeS3({ region: 'eu-west-1' });
  });
  afterEach(() => fake.close());

  it('refuses a store with a wrong secret: its write fails and its reads are misses', async () => {
    const { store, writes } = storeOn(fake, { config: { secretAccessKey: 'not-the-secret-key-0000000000000000000' } });
    const writer = store.put(photo.key, photo.meta, inlineBackground)!;
    await feed(writer, photo.bytes).catch(() => {});
    await expect(writer.commit()).rejects.toThrow(/SignatureDoesNotMatch|403/);
    expect(writes()).toEqual(['failed']);
    expect(await store.get(photo.key)).toBeUndefined();
    expect(fake.requests.map((r) => r.code)).toEqual(['SignatureDoesNotMatch', 'SignatureDoesNotMatch']);
    expect(fake.objects.size).toBe(0);
  });

  it('refuses a wrong access key id and a wrong region', async () => {
    expect(await storeOn(fake, { config: { accessKeyId: 'AKIAOTHER' } }).store.get(photo.key)).toBeUndefined();
    expect(await storeOn(fake, { config: { region: 'us-east-1' } }).store.get(photo.key)).toBeUndefined();
    expect(fake.requests.map((r) => r.code)).toEqual(['InvalidAccessKeyId', 'AuthorizationHeaderMalformed']);
  });

  async function signedPut(options: { datetime?: string } = {}) {
    const config = fakeConfig(fake);
    const url = createS3Addressing(config).objectUrl(`media/default/${photo.meta.id}`);
    const signer = new AwsV4Signer({
      url: url.href,
      method: 'PUT',
      headers: { 'x-amz-content-sha256': photo.meta.sha256, 'x-amz-meta-sha256': photo.meta.sha256, 'content-length': String(photo.meta.size) },
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      service: 's3',
      region: config.region,
      ...(options.datetime === undefined ? {} : { datetime: options.datetime }),
    });
    const { headers } = await signer.sign();
    return { url, headers };
  }
  const send = (url: URL, headers: Headers) => fetch(url, { method: 'PUT', headers, body: photo.bytes });

  it('accepts an untouched signed request and refuses one whose signed header changed afterwards', async () => {
    const tampered = await signedPut();
    tampered.headers.set('x-amz-meta-sha256', sha256Hex(new Uint8Array(1)));
    expect((await send(tampered.url, tampered.headers)).status).toBe(403);
    expect(fake.requests.at(-1)!.code).toBe('SignatureDoesNotMatch');

    const unsigned = await signedPut();
    unsigned.headers.set('x-amz-meta-extra', 'not signed');
    expect((await send(unsigned.url, unsigned.headers)).status).toBe(403);
    expect(fake.requests.at(-1)!.code).toBe('AccessDenied');

    const moved = await signedPut();
    expect((await send(new URL(moved.url.href.replace(photo.meta.id, 'elsewhere')), moved.headers)).status).toBe(403);
    expect(fake.requests.at(-1)!.code).toBe('SignatureDoesNotMatch');
    expect(fake.objects.size).toBe(0);

    const good = await signedPut();
    expect((await send(good.url, good.headers)).status).toBe(200);
    expect(fake.objects.size).toBe(1);
  });

  it('refuses an x-amz-date more than 15 minutes from its clock', async () => {
    const stale = new Date(Date.now() - 16 * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, '');
    const old = await signedPut({ datetime: stale });
    const res = await send(old.url, old.headers);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/<Error><Code>RequestTimeTooSkewed<\/Code>/);

    const recent = new Date(Date.now() - 10 * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, '');
    const ok = await signedPut({ datetime: recent });
    expect((await send(ok.url, ok.headers)).status).toBe(200);
  });

  it('refuses a PUT without Content-Length, as S3 does', async () => {
    const { url, headers } = await signedPut();
    headers.delete('content-length');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(photo.bytes);
        c.close();
      },
    });
    const res = await fetch(url, { method: 'PUT', headers, body, duplex: 'half' } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(411);
    expect(fake.objects.size).toBe(0);
  });
});

describe('S3 addressing', () => {
  const base = { kind: 's3', bucket: 'wa-media', region: 'eu-west-1', accessKeyId: 'AKIA', secretAccessKey: 'secret', sessionToken: undefined } as const;

  it('is virtual-hosted on AWS and path-style with AWS_ENDPOINT_URL_S3', () => {
    const aws = createS3Addressing({ ...base, prefix: 'prod/media', endpoint: undefined });
    expect(aws.objectUrl(aws.objectKey({ account: 'default', id: '123' })).href).toBe('https://wa-media.s3.eu-west-1.amazonaws.com/prod/media/default/123');
    const minio = createS3Addressing({ ...base, prefix: '', endpoint: 'http://127.0.0.1:9000' });
    expect(minio.objectKey({ account: 'default', id: '123' })).toBe('default/123');
    // A second business account gets its own key space; nothing moves when one is added.
    expect(aws.objectKey({ account: 'acme_2', id: '123' })).toBe('prod/media/acme_2/123');
    expect(minio.objectUrl('default/123').href).toBe('http://127.0.0.1:9000/wa-media/default/123');
  });
});
