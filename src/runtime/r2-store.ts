import { keyPath, type ByteRange, type MediaKey, type MediaMeta, type StoreTier, type TierHit, type TierWriter } from '../cache/media-tier.js';
import { toHex } from '../hash.js';
import { safeContentType } from '../http/media-headers.js';
import { describeError, type Logger } from '../logger.js';

/**
 * The persistent tier on Workers: an R2 bucket binding (STORE_URL=r2://BINDING). Object name
 * `<account>/<media id>`; customMetadata `sha256`, `size` and `mime-type` (URI-encoded), and the
 * Content-Type in httpMetadata: the layout src/store/s3-object-meta.ts writes as `x-amz-meta-*`, which
 * R2's S3 API stores as the same custom metadata, so Node instances on s3:// (no prefix) and Workers
 * on r2:// can share one bucket.
 *
 * A copy is ONE `put()` fed through a FixedLengthStream: R2 takes a stream only when its length is
 * known, and with the `sha256` option R2 itself checks the bytes and refuses the put when they differ,
 * so a mismatch, a truncation or an abort leaves no object (R2 makes an object visible only when its
 * put completed; the writer holds the last chunk back until commit, see startPut). Two isolates copying one id at once are harmless: both puts carry the same
 * verified bytes and the last one to finish wins.
 *
 * Size and age bounds are not enforced here: the bucket's lifecycle rule does that (README).
 */

/** The part of an R2 bucket binding the store uses (a test may pass a failing one). */
export type R2StoreBucket = Pick<R2Bucket, 'head' | 'get' | 'put' | 'delete'>;

export interface R2StoreOptions {
  readonly bucket: R2StoreBucket;
  readonly logger: Logger;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SIZE = /^(0|[1-9][0-9]{0,15})$/;
/** `audio/ogg; codecs=opus` has a space and a semicolon: URI-encoded, as S3 metadata must be plain. */
const MIME = 'mime-type';

export function createR2Store(options: R2StoreOptions): StoreTier {
  const { bucket, logger } = options;

  async function get(key: MediaKey): Promise<TierHit | undefined> {
    const name = keyPath(key);
    let object: R2Object | null;
    try {
      object = await bucket.head(name);
    } catch (error) {
      // The store is a copy: when R2 fails, the request goes to Graph and the CDN.
      logger.warn({ mediaId: key.id, error: describeError(error) }, 'r2 store read failed');
      return undefined;
    }
    if (object === null) return undefined;
    const meta = readMeta(key, object);
    if (meta === undefined) {
      // Written by something else, or by an older layout: never served, and not kept.
      logger.warn({ mediaId: key.id, storedBytes: object.size }, 'r2 store entry malformed; removed');
      await bucket.delete(name).catch((error: unknown) => {
        logger.warn({ mediaId: key.id, error: describeError(error) }, 'r2 store delete failed');
      });
      return undefined;
    }
    return { meta, open: (range) => openRange(bucket, name, meta, range) };
  }

  return {
    name: 'store',
    kind: 'r2',
    get,
    put: (key, meta) => startPut(bucket, keyPath(key), meta),
    delete: (key) => bucket.delete(keyPath(key)),
  };
}

function readMeta(key: MediaKey, object: R2Object): MediaMeta | undefined {
  const { sha256 = '', size = '', [MIME]: mimeRaw = '' } = object.customMetadata ?? {};
  if (!SHA256_HEX.test(sha256) || !SIZE.test(size) || Number(size) !== object.size) return undefined;
  let mimeType: string;
  try {
    mimeType = decodeURIComponent(mimeRaw);
  } catch {
    return undefined;
  }
  // Stored only after safeContentType; anything else was not written by this proxy.
  if (mimeType === '' || safeContentType(mimeType) !== mimeType) return undefined;
  // The digest R2 checked at put time, when it has one, must be the one the metadata claims.
  const checked = object.checksums.sha256;
  if (checked !== undefined && toHex(checked) !== sha256) return undefined;
  return { id: key.id, mimeType, sha256, size: object.size };
}

/** A ranged GET: R2 reads and sends only the slice asked for. */
async function openRange(bucket: R2StoreBucket, name: string, meta: MediaMeta, range: ByteRange | undefined): Promise<ReadableStream<Uint8Array>> {
  const length = range === undefined ? meta.size : range.end - range.start + 1;
  const object = await bucket.get(name, range === undefined ? {} : { range: { offset: range.start, length } });
  if (object === null) throw new Error('r2 store entry vanished since it was looked up');
  if (object.size !== meta.size) {
    // Replaced by another writer between head() and get(): not the file the headers describe.
    await object.body.cancel();
    throw new Error('r2 store entry changed since it was looked up');
  }
  return object.body as ReadableStream<Uint8Array>;
}

function startPut(bucket: R2StoreBucket, name: string, meta: MediaMeta): TierWriter {
  const fixed = new FixedLengthStream(meta.size);
  const writer = fixed.writable.getWriter();
  let stored: Promise<unknown> | undefined;
  let failed: Promise<never> | undefined;
  // R2 completes a put as soon as the declared length has arrived, even if the stream is aborted
  // after that (miniflare does; R2 cannot tell). So the last chunk is held back until commit(): an
  // abort, even one after every byte came (a DELETE during the download), leaves R2 short of the
  // length, and it stores nothing. The put starts with the first chunk, so an empty file too waits.
  let held: Uint8Array | undefined;
  let done = false;

  function start(): void {
    if (stored !== undefined) return;
    const put = bucket.put(name, fixed.readable, {
      sha256: meta.sha256,
      httpMetadata: { contentType: meta.mimeType },
      customMetadata: { sha256: meta.sha256, size: String(meta.size), [MIME]: encodeURIComponent(meta.mimeType) },
    });
    // Observed by write/commit/abort; this keeps an early failure from being an unhandled rejection.
    put.catch(() => {});
    // A put that failed early (R2 down, refused) must fail the next write, not leave it waiting.
    failed = put.then(() => {
      throw new Error('r2 put ended before the body did');
    });
    failed.catch(() => {});
    stored = put;
  }

  async function pass(chunk: Uint8Array): Promise<void> {
    // Resolves once R2's upload took the chunk: the FixedLengthStream keeps no queue of its own.
    await Promise.race([writer.write(chunk), failed]);
  }

  return {
    async write(chunk) {
      start();
      const previous = held;
      held = chunk;
      if (previous !== undefined) await pass(previous);
    },
    async commit() {
      done = true;
      start();
      if (held !== undefined) await pass(held);
      held = undefined;
      // close() fails when fewer bytes than meta.size came; R2 refuses bytes that miss the sha256.
      await Promise.all([writer.close(), stored]);
    },
    async abort(reason) {
      if (done) return;
      done = true;
      held = undefined;
      // Erroring the stream before the full length fails the put: R2 keeps nothing of it.
      await writer.abort(reason ?? new Error('copy aborted')).catch(() => {});
      await stored?.catch(() => {});
    },
  };
}
