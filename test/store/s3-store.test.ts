import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineBackground } from '../../src/cache/media-tier.js';
import { expectSameBytes } from '../support/bytes.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { makeBytes, sha256Hex } from '../support/fake-whatsapp.js';
import { eventually } from '../support/eventually.js';
import { feed, media, readAll, storeFile, storeOn } from './s3-kit.js';

const photo = media('1100000000000001', 300_000, 3);
const video = media('1100000000000002', 6 * 1024 * 1024, 4, 'video/mp4');

describe('S3 store over real HTTP to a fake S3', () => {
  let fake: FakeS3;
  beforeEach(async () => {
    fake = await startFakeS3();
  });
  afterEach(() => fake.close());

  it('stores a file with one streamed PUT and serves it back with its metadata after a restart', async () => {
    const { store, writes } = storeOn(fake);
    await storeFile(store, video);
    expect(writes()).toEqual(['ok']);

    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]!.key).toBe(`media/default/${video.meta.id}`);
    expect(puts[0]!.headers['content-length']).toBe(String(video.meta.size));
    expect(puts[0]!.headers['transfer-encoding']).toBeUndefined();
    expect(puts[0]!.headers['x-amz-content-sha256']).toBe(video.meta.sha256);
    expect(puts[0]!.headers['if-none-match']).toBe('*');

    // A fresh store knows nothing: it rebuilds the meta from one HEAD.
    const fresh = storeOn(fake).store;
    const hit = await fresh.get(video.key);
    expect(hit?.meta).toEqual(video.meta);
    expectSameBytes(await readAll(await hit!.open(undefined)), video.bytes);
    expect(fake.requests.slice(1).map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('keeps the meta of what it wrote or read, so a later hit costs one GET and no HEAD', async () => {
    const { store } = storeOn(fake);
    await storeFile(store, photo);
    const before = fake.requests.length;
    const hit = await store.get(photo.key);
    expectSameBytes(await readAll(await hit!.open(undefined)), photo.bytes);
    expect(fake.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
  });

  it('reads a range with a ranged GET, never the whole object', async () => {
    const { store } = storeOn(fake);
    await storeFile(store, video);
    const hit = await store.get(video.key);
    const slice = await readAll(await hit!.open({ start: 1_000_000, end: 1_065_535 }));
    expectSameBytes(slice, video.bytes.subarray(1_000_000, 1_065_536));
    const get = fake.requests.at(-1)!;
    expect(get.method).toBe('GET');
    expect(get.headers.range).toBe('bytes=1000000-1065535');
    expect(get.status).toBe(206);
    const tail = await readAll(await hit!.open({ start: video.meta.size - 10, end: video.meta.size - 1 }));
    expectSameBytes(tail, video.bytes.subarray(video.meta.size - 10));
  });

  it('lets S3 refuse bytes that do not match the sha256: commit rejects and nothing is readable', async () => {
    const { store, writes } = storeOn(fake);
    const forged = makeBytes(photo.meta.size, 99);
    const writer = store.put(photo.key, photo.meta, inlineBackground)!;
    await feed(writer, forged);
    await expect(writer.commit()).rejects.toThrow(/XAmzContentSHA256Mismatch/);
    expect(writes()).toEqual(['refused']);
    expect(fake.requests.find((r) => r.method === 'PUT')?.code).toBe('XAmzContentSHA256Mismatch');
    expect(fake.objects.size).toBe(0);
    expect(await storeOn(fake).store.get(photo.key)).toBeUndefined();
    expect(await store.get(photo.key)).toBeUndefined();
  });

  it('leaves nothing behind when a writer is aborted mid-body', async () => {
    const { store } = storeOn(fake);
    const writer = store.put(video.key, video.meta, inlineBackground)!;
    await feed(writer, video.bytes.subarray(0, 2 * 1024 * 1024));
    await eventually(() => (fake.requests[0]?.receivedBytes ?? 0) > 0, 'the PUT body to start', 2_000);
    await writer.abort(new Error('sha256 mismatch'));
    await writer.abort();
    await expect(writer.write(new Uint8Array(1))).rejects.toThrow();
    await eventually(() => fake.requests.length === 1 && fake.requests[0]!.status === undefined, 'the aborted PUT recorded without an answer', 2_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.requests[0]!.receivedBytes).toBeLessThan(video.meta.size);
    expect(fake.objects.size).toBe(0);
    expect(await store.get(video.key)).toBeUndefined();
  });

  it('starts its PUT with the first byte: a writer aborted before it (the CDN refused the download) sends nothing', async () => {
    const puts: string[] = [];
    const { store } = storeOn(fake, {
      fetch: (input, init) => {
        if (init?.method === 'PUT') puts.push(String(input));
        return fetch(input, init);
      },
    });
    const unused = store.put(photo.key, photo.meta, inlineBackground)!;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await unused.abort(new Error('the CDN refused'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(puts).toEqual([]);
    expect(fake.requests).toEqual([]);
    const writer = store.put(photo.key, photo.meta, inlineBackground)!;
    await feed(writer, photo.bytes);
    await writer.commit();
    expect(puts).toHaveLength(1);
  });

  it('lets two writers of one id run at once: both succeed and the object is right', async () => {
    const a = storeOn(fake);
    const b = storeOn(fake);
    const wa = a.store.put(video.key, video.meta, inlineBackground)!;
    const wb = b.store.put(video.key, video.meta, inlineBackground)!;
    await Promise.all([feed(wa, video.bytes, 100_000), feed(wb, video.bytes, 150_000)]);
    await Promise.all([wa.commit(), wb.commit()]);
    expect([...a.writes(), ...b.writes()].sort()).toEqual(['exists', 'ok']);
    expect(fake.requests.filter((r) => r.method === 'PUT').map((r) => r.status).sort()).toEqual([200, 412]);
    expectSameBytes(fake.objects.get(`media/default/${video.meta.id}`)!.bytes, video.bytes);
    expectSameBytes(await readAll(await (await b.store.get(video.key))!.open(undefined)), video.bytes);
  });

  it('treats a store that answers 5xx, drops connections or is down as a miss, and a failed write', async () => {
    const { store, lines, writes } = storeOn(fake);
    fake.fail({ kind: 'status', status: 503 });
    expect(await store.get(photo.key)).toBeUndefined();
    fake.fail({ kind: 'drop' });
    expect(await store.get(photo.key)).toBeUndefined();
    expect(lines.filter((l) => l.level === 'warn' && l.msg === 'store read failed')).toHaveLength(2);

    fake.fail({ kind: 'status', status: 500 }, { method: 'PUT' });
    const refused = store.put(photo.key, photo.meta, inlineBackground)!;
    await feed(refused, photo.bytes).catch(() => {});
    await expect(refused.commit()).rejects.toThrow();

    fake.setDown(true);
    expect(await store.get(photo.key)).toBeUndefined();
    const down = store.put(photo.key, photo.meta, inlineBackground)!;
    await expect(feed(down, photo.bytes).then(() => down.commit())).rejects.toThrow();
    await down.abort();
    expect(writes()).toEqual(['failed', 'failed']);
    expect(fake.objects.size).toBe(0);
    // No line carries the secret or the endpoint.
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(fake.credentials.secretAccessKey);
    expect(logged).not.toContain(fake.endpoint);
  });

  it('takes a 412 sent before the body ended (another writer finished first) as success', async () => {
    const { store, writes } = storeOn(fake);
    fake.fail({ kind: 'status', status: 412, code: 'PreconditionFailed' }, { method: 'PUT' });
    const writer = store.put(video.key, video.meta, inlineBackground)!;
    await feed(writer, video.bytes);
    await writer.commit();
    expect(writes()).toEqual(['exists']);
  });

  it('does not let a stalled store stall the download: a write waits at most timeoutMs', async () => {
    const { store, writes } = storeOn(fake, { timeoutMs: 300 });
    fake.fail({ kind: 'hang' }, { method: 'PUT' });
    const big = media('1100000000000003', 32 * 1024 * 1024, 6);
    const writer = store.put(big.key, big.meta, inlineBackground)!;
    const started = Date.now();
    await expect(feed(writer, big.bytes, 1024 * 1024)).rejects.toThrow(/longer than 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(writer.commit()).rejects.toThrow();
    expect(writes()).toEqual(['failed']);
    expect(fake.objects.size).toBe(0);
  });

  it('refuses to read a whole object when it asked for a range (a store that ignores Range)', async () => {
    await storeFile(storeOn(fake).store, photo);
    const ignoresRange = storeOn(fake, {
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.delete('range');
        return fetch(input, { ...init, headers });
      },
    }).store;
    const hit = await ignoresRange.get(photo.key);
    await expect(hit!.open({ start: 0, end: 99 })).rejects.toThrow(/status 200/);
    expect(fake.requests.at(-1)!.status).toBe(200);
  });

  it('gives up on a store that never answers within timeoutMs', async () => {
    const { store } = storeOn(fake, { timeoutMs: 200 });
    fake.fail({ kind: 'hang' });
    const started = Date.now();
    expect(await store.get(photo.key)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('deletes an object and forgets its meta; deleting what is not there is fine', async () => {
    const { store } = storeOn(fake);
    await storeFile(store, photo);
    await store.delete(photo.key, inlineBackground);
    expect(fake.objects.size).toBe(0);
    expect(await store.get(photo.key)).toBeUndefined();
    expect(fake.requests.at(-1)!.method).toBe('HEAD');
    await expect(store.delete(photo.key, inlineBackground)).resolves.toBeUndefined();
  });

  it('rejects open() when another instance deleted the object since get(), and forgets it', async () => {
    const { store } = storeOn(fake);
    await storeFile(store, photo);
    const hit = await store.get(photo.key);
    await storeOn(fake).store.delete(photo.key, inlineBackground);
    await expect(hit!.open({ start: 0, end: 9 })).rejects.toThrow(/vanished/);
    expect(await store.get(photo.key)).toBeUndefined();
  });

  it('treats an object with missing or disagreeing metadata as a miss, removes it and logs it', async () => {
    const bad = { ...photo.meta, size: photo.meta.size + 1 };
    fake.objects.set(`media/default/${photo.meta.id}`, {
      bytes: Buffer.from(photo.bytes),
      headers: { 'content-type': 'image/jpeg', 'x-amz-meta-sha256': bad.sha256, 'x-amz-meta-size': String(bad.size), 'x-amz-meta-mime-type': 'image%2Fjpeg' },
      etag: '"x"',
    });
    fake.objects.set('media/default/2', { bytes: Buffer.from('hello'), headers: { 'content-type': 'text/plain' }, etag: '"y"' });
    // Whole and consistent, but with a type the proxy never stores (it keeps safeContentType's output).
    const hello = Buffer.from('hello');
    fake.objects.set('media/default/3', {
      bytes: hello,
      headers: { 'content-type': 'text/html', 'x-amz-meta-sha256': sha256Hex(hello), 'x-amz-meta-size': '5', 'x-amz-meta-mime-type': encodeURIComponent('text/html; charset=<script>') },
      etag: '"z"',
    });
    const { store, lines, evictions } = storeOn(fake);
    expect(await store.get(photo.key)).toBeUndefined();
    expect(await store.get({ account: 'default', id: '2' })).toBeUndefined();
    expect(await store.get({ account: 'default', id: '3' })).toBeUndefined();
    expect(evictions).toEqual(['malformed', 'malformed', 'malformed']);
    expect(fake.objects.size).toBe(0);
    expect(fake.requests.filter((r) => r.method === 'DELETE')).toHaveLength(3);
    expect(lines.filter((l) => l.msg === 'store entry malformed; removed')).toHaveLength(3);
  });

  it('sends a session token as x-amz-security-token, signed', async () => {
    await fake.close();
    fake = await startFakeS3({ sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' });
    const { store } = storeOn(fake);
    await storeFile(store, photo);
    expect((await store.get({ account: 'default', id: 'other' }))).toBeUndefined();
    for (const r of fake.requests) expect(r.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLETOKEN');
    expect(String(fake.requests[0]!.headers.authorization)).toContain('x-amz-security-token');
    // Without the token, the same credentials are refused.
    const tokenless = storeOn(fake, { config: { sessionToken: undefined } }).store;
    expect(await tokenless.get(photo.key)).toBeUndefined();
    expect(fake.requests.at(-1)!.code).toBe('InvalidToken');
  });

  it('takes no file whose sha256 is not a hex digest (S3 could not check it)', () => {
    const { store } = storeOn(fake);
    expect(store.put(photo.key, { ...photo.meta, sha256: 'not-a-digest' }, inlineBackground)).toBeUndefined();
    expect(sha256Hex(photo.bytes)).toBe(photo.meta.sha256);
  });
});
