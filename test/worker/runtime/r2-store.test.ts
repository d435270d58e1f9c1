/**
 * The R2 store inside workerd, on miniflare's local R2 (the MEDIA_BUCKET binding of vitest.config.ts):
 * one streamed put per copy through a FixedLengthStream, refused by R2 itself when the bytes do not
 * match the declared sha256, ranged reads, and malformed entries dropped.
 */
import { describe, expect, it } from 'vitest';
import { inlineBackground } from '../../../src/cache/media-tier.js';
import { fakeUpstream, sha256Hex } from '../fake-upstream.js';
import { bucket, chunksOf, copy, file, hit, r2Store as store, readAll } from './r2-kit.js';

describe('createR2Store', () => {
  it('stores a streamed copy under <account>/<id> and reads back the same bytes and metadata', async () => {
    const { key, meta, bytes } = await file('910000001', 300_000, 7);
    const { tier } = store();
    const chunks = chunksOf(bytes, 65_536);
    await copy(tier, key, meta, chunks);
    // The same chunks go on to the caller and the memory tier: the copy must leave them intact.
    expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(300_000);

    const object = await bucket.head('default/910000001');
    expect(object?.httpMetadata?.contentType).toBe('video/mp4');
    expect(object?.customMetadata).toEqual({ sha256: meta.sha256, size: '300000', 'mime-type': 'video%2Fmp4' });

    const found = await hit(store().tier, key);
    expect(found.meta).toEqual(meta);
    expect(found.bytes).toBeUndefined();
    expect(await readAll(await found.open(undefined))).toEqual(bytes);
  });

  it('reads a range as a ranged GET: only the slice comes back, with a length workerd sends', async () => {
    const { key, meta, bytes } = await file('910000002', 1_000_000, 11);
    const { tier } = store();
    await copy(tier, key, meta, chunksOf(bytes, 100_000));
    const found = await hit(tier, key);

    const slice = await readAll(await found.open({ start: 123_456, end: 133_455 }));
    expect(slice.byteLength).toBe(10_000);
    expect(slice).toEqual(bytes.subarray(123_456, 133_456));

    const last = await readAll(await found.open({ start: 999_999, end: 999_999 }));
    expect(last).toEqual(bytes.subarray(999_999));

    // Through a real HTTP hop: R2's body is a stream of known length, so no FixedLengthStream is needed.
    const echoed = await fakeUpstream.echo(await found.open({ start: 0, end: 499_999 }));
    expect(echoed).toEqual({ contentLength: '500000', transferEncoding: null, bytes: 500_000, sha256: await sha256Hex(bytes.slice(0, 500_000)) });
  });

  it('keeps nothing of a copy aborted half-way', async () => {
    const { key, meta, bytes } = await file('910000003', 200_000, 13);
    const { tier } = store();
    const writer = tier.put(key, meta, inlineBackground)!;
    await writer.write(bytes.subarray(0, 100_000));
    await writer.abort(new Error('caller gone and the CDN reset'));
    expect(await bucket.head('default/910000003')).toBeNull();
    expect(await tier.get(key)).toBeUndefined();
  });

  it('keeps nothing of a copy aborted after every byte came (R2 would complete a put of full length)', async () => {
    const { key, meta, bytes } = await file('910000012', 200_000, 41);
    const { tier } = store();
    const writer = tier.put(key, meta, inlineBackground)!;
    for (const chunk of chunksOf(bytes, 50_000)) await writer.write(chunk);
    // Give R2 every chance to finish the upload before the abort.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.abort(new Error('erased while downloading'));
    expect(await bucket.head('default/910000012')).toBeNull();
  });

  it('stores an empty file only on commit', async () => {
    const { key, meta } = await file('910000013', 0, 1);
    const { tier } = store();
    const aborted = tier.put(key, meta, inlineBackground)!;
    await aborted.abort();
    expect(await bucket.head('default/910000013')).toBeNull();
    await copy(tier, key, meta, []);
    const found = await hit(tier, key);
    expect(found.meta.size).toBe(0);
    expect((await readAll(await found.open(undefined))).byteLength).toBe(0);
  });

  it('is refused by R2 itself when the bytes do not match the declared sha256', async () => {
    const { key, meta, bytes } = await file('910000004', 150_000, 17);
    const wrong = bytes.slice();
    wrong[149_999] = (bytes[149_999] ?? 0) ^ 0xff;
    const { tier } = store();
    // The message is R2's (miniflare's local R2 checks it the way R2 does), not this proxy's.
    await expect(copy(tier, key, meta, chunksOf(wrong, 50_000))).rejects.toThrow('SHA-256 checksum you specified did not match');
    expect(await bucket.head('default/910000004')).toBeNull();
  });

  it('is refused when fewer bytes than the size arrive', async () => {
    const { key, meta, bytes } = await file('910000005', 150_000, 19);
    const { tier } = store();
    await expect(copy(tier, key, meta, chunksOf(bytes.subarray(0, 149_000), 50_000))).rejects.toThrow();
    expect(await bucket.head('default/910000005')).toBeNull();
  });

  it('ends with one good object when two isolates copy one id at once', async () => {
    const { key, meta, bytes } = await file('910000006', 120_000, 23);
    const [a, b] = [store().tier.put(key, meta, inlineBackground)!, store().tier.put(key, meta, inlineBackground)!];
    for (const chunk of chunksOf(bytes, 40_000)) await Promise.all([a.write(chunk), b.write(chunk)]);
    await Promise.all([a.commit(), b.commit()]);
    const found = await hit(store().tier, key);
    expect(await readAll(await found.open(undefined))).toEqual(bytes);
  });

  it.each([
    ['no sha256', { size: '10', 'mime-type': 'image%2Fpng' }],
    ['a size that is not the object size', { sha256: 'a'.repeat(64), size: '11', 'mime-type': 'image%2Fpng' }],
    ['an upper-case sha256', { sha256: 'A'.repeat(64), size: '10', 'mime-type': 'image%2Fpng' }],
    ['no mime type', { sha256: 'a'.repeat(64), size: '10' }],
    ['a mime type that is not URI-encoded', { sha256: 'a'.repeat(64), size: '10', 'mime-type': '%E0%A4%A' }],
    ['a mime type the proxy would not have stored', { sha256: 'a'.repeat(64), size: '10', 'mime-type': encodeURIComponent('text/html; charset=<script>') }],
  ])('treats an entry with %s as a miss and removes it', async (_, customMetadata) => {
    await bucket.put('default/910000007', new Uint8Array(10), { customMetadata, httpMetadata: { contentType: 'image/png' } });
    const { tier, messages } = store();
    expect(await tier.get({ account: 'default', id: '910000007' })).toBeUndefined();
    expect(await bucket.head('default/910000007')).toBeNull();
    expect(messages()).toEqual(['r2 store entry malformed; removed']);
  });

  it('reads an object written through the S3 API by an s3:// store (x-amz-meta-* is custom metadata)', async () => {
    const body = new Uint8Array(10).fill(9);
    const sha256 = await sha256Hex(body);
    await bucket.put('default/910000014', body, { customMetadata: { sha256, size: '10', 'mime-type': encodeURIComponent('audio/ogg; codecs=opus') }, httpMetadata: { contentType: 'audio/ogg; codecs=opus' } });
    const found = await hit(store().tier, { account: 'default', id: '910000014' });
    expect(found.meta).toEqual({ id: '910000014', mimeType: 'audio/ogg; codecs=opus', sha256, size: 10 });
    expect(await readAll(await found.open(undefined))).toEqual(body);
  });

  it('treats an entry whose R2-checked sha256 differs from its metadata as malformed', async () => {
    const body = new Uint8Array(10);
    await bucket.put('default/910000008', body, { sha256: await sha256Hex(body), customMetadata: { sha256: 'b'.repeat(64), size: '10', 'mime-type': 'image%2Fpng' }, httpMetadata: { contentType: 'image/png' } });
    const { tier, messages } = store();
    expect(await tier.get({ account: 'default', id: '910000008' })).toBeUndefined();
    expect(messages()).toEqual(['r2 store entry malformed; removed']);
  });

  it('deletes an entry, and resolves when there was none; a range of a deleted entry rejects', async () => {
    const { key, meta, bytes } = await file('910000009', 5_000, 29);
    const { tier } = store();
    await copy(tier, key, meta, [bytes]);
    const found = await hit(tier, key);
    await tier.delete(key, inlineBackground);
    expect(await tier.get(key)).toBeUndefined();
    await expect(found.open({ start: 0, end: 9 })).rejects.toThrow('vanished');
    await expect(tier.delete(key, inlineBackground)).resolves.toBeUndefined();
  });

  it('keeps accounts apart', async () => {
    const { meta, bytes } = await file('910000010', 1_000, 31);
    const { tier } = store();
    await copy(tier, { account: 'second', id: '910000010' }, meta, [bytes]);
    expect(await tier.get({ account: 'default', id: '910000010' })).toBeUndefined();
    expect((await hit(tier, { account: 'second', id: '910000010' })).meta).toEqual(meta);
  });
});
