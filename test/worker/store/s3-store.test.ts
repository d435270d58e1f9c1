/**
 * The S3 store inside workerd, unchanged from Node, against the fake S3 the global setup runs on
 * loopback: workerd's fetch, Web Crypto signing, and FixedLengthStream to send the Content-Length a
 * PUT needs.
 */
import { describe, expect, it } from 'vitest';
import { inlineBackground, type MediaKey, type MediaMeta } from '../../../src/cache/media-tier.js';
import { toHex } from '../../../src/hash.js';
import { withFixedLength } from '../../../src/runtime/worker-fixed-length.js';
import type { S3StoreOptions } from '../../../src/store/s3-store.js';
import { fakeS3Store } from '../fake-s3-store.js';

const store = (overrides: Partial<S3StoreOptions> = {}) => fakeS3Store('workerd', { withKnownLength: withFixedLength, ...overrides });

async function file(id: string, size: number, seed: number): Promise<{ key: MediaKey; meta: MediaMeta; bytes: Uint8Array<ArrayBuffer> }> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * seed + (i >> 8)) & 0xff;
  const sha256 = toHex(await crypto.subtle.digest('SHA-256', bytes));
  return { key: { account: 'default', id }, meta: { id, mimeType: 'video/mp4', sha256, size }, bytes };
}

async function write(target: ReturnType<typeof store>, f: Awaited<ReturnType<typeof file>>, bytes = f.bytes): Promise<void> {
  const writer = target.put(f.key, f.meta, inlineBackground)!;
  for (let at = 0; at < bytes.byteLength; at += 65_536) await writer.write(bytes.slice(at, at + 65_536));
  await writer.commit();
}

/** Offset of the first difference, or -1: toEqual and hex strings are slow on megabytes. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.byteLength === b.byteLength ? -1 : n;
}

const readAll = async (stream: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(stream).arrayBuffer());

describe('S3 store in workerd', () => {
  it('writes with one streamed PUT of known length, and reads the file and a range back', async () => {
    const f = await file('1400000000000001', 2 * 1024 * 1024 + 5, 7);
    await write(store(), f);
    const hit = await store().get(f.key);
    expect(hit?.meta).toEqual(f.meta);
    expect(firstDifference(await readAll(await hit!.open(undefined)), f.bytes)).toBe(-1);
    expect(firstDifference(await readAll(await hit!.open({ start: 100_000, end: 100_099 })), f.bytes.subarray(100_000, 100_100))).toBe(-1);
    await store().delete(f.key, inlineBackground);
    expect(await store().get(f.key)).toBeUndefined();
  });

  it('is refused by S3 when the bytes do not match the sha256', async () => {
    const f = await file('1400000000000002', 100_000, 9);
    await expect(write(store(), f, f.bytes.map((b) => b ^ 1))).rejects.toThrow(/XAmzContentSHA256Mismatch/);
    expect(await store().get(f.key)).toBeUndefined();
  });

  it('needs FixedLengthStream: without it workerd sends the body chunked and S3 refuses it (411)', async () => {
    const f = await file('1400000000000003', 10_000, 11);
    await expect(write(store({ withKnownLength: undefined }), f)).rejects.toThrow(/411/);
  });
});
