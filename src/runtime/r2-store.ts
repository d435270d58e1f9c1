import { keyPath, type Background, type ByteRange, type MediaKey, type MediaMeta, type StoreTier, type TierHit, type TierWriter } from '../cache/media-tier.js';
import { toHex, SHA256_HEX } from '../hash.js';
import { isSafeContentType } from '../http/media-headers.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import { withTimeout } from '../with-timeout.js';

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
 * put completed; the writer holds the last chunk back until commit, see startPut). Two isolates
 * copying one id at once are harmless: both puts carry the same verified bytes, the last one wins.
 *
 * Size and age bounds are not enforced here: the bucket's lifecycle rule does that (README).
 */

/** The part of an R2 bucket binding the store uses (a test may pass a failing one). */
export type R2StoreBucket = Pick<R2Bucket, 'head' | 'get' | 'put' | 'delete'>;

export interface R2StoreOptions {
  readonly bucket: R2StoreBucket;
  readonly logger: Logger;
  /** How long a write may wait for R2 to take a chunk, and commit for R2's answer. */
  readonly timeoutMs: number;
  /** Malformed entries removed. Hits and writes are counted by the app (src/media/media-loader.ts). */
  readonly metrics?: Pick<Metrics, 'storeEviction'>;
}

const SIZE = /^(0|[1-9][0-9]{0,15})$/;
/** `audio/ogg; codecs=opus` has a space and a semicolon: URI-encoded, as S3 metadata must be plain. */
const MIME = 'mime-type';

export function createR2Store(options: R2StoreOptions): StoreTier {
  const { bucket, logger, timeoutMs } = options;
  const metrics = options.metrics ?? noopMetrics;

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
      metrics.storeEviction('malformed');
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
    // A failed copy is logged and counted by the app, which drops this writer and serves on.
    put: (key, meta, background) => startPut({ bucket, name: keyPath(key), meta, background, timeoutMs }),
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
  if (!isSafeContentType(mimeType)) return undefined;
  // The digest R2 checked at put time, when it has one, must be the one the metadata claims.
  const checked = object.checksums.sha256;
  if (checked !== undefined && toHex(checked) !== sha256) return undefined;
  return { id: key.id, mimeType, sha256, size: object.size };
}

/**
 * A ranged GET: R2 reads and sends only the slice asked for. Its body is a stream of known length,
 * so a Response made of it carries Content-Length in workerd without a FixedLengthStream.
 */
async function openRange(bucket: R2StoreBucket, name: string, meta: MediaMeta, range: ByteRange | undefined): Promise<ReadableStream<Uint8Array>> {
  const length = range === undefined ? meta.size : range.end - range.start + 1;
  const object = await bucket.get(name, range === undefined ? {} : { range: { offset: range.start, length } });
  if (object === null) throw new Error('r2 store entry vanished since it was looked up');
  if (object.size !== meta.size || object.customMetadata?.sha256 !== meta.sha256) {
    // Replaced between head() and get(): not the file the response headers describe.
    await object.body.cancel();
    throw new Error('r2 store entry changed since it was looked up');
  }
  return object.body as ReadableStream<Uint8Array>;
}

interface PutOptions {
  readonly bucket: R2StoreBucket;
  readonly name: string;
  readonly meta: MediaMeta;
  readonly background: Background;
  readonly timeoutMs: number;
}

function startPut(options: PutOptions): TierWriter {
  const { bucket, name, meta, timeoutMs } = options;
  const fixed = new FixedLengthStream(meta.size);
  const writer = fixed.writable.getWriter();
  let stored: Promise<unknown> | undefined;
  let failed: Promise<never> | undefined;
  // R2 completes a put as soon as the declared length has arrived, even if the stream is aborted
  // after that (miniflare does; R2 cannot tell). So the last chunk is held back until commit(): an
  // abort, even one after every byte came (a DELETE during the download), leaves R2 short of the
  // length, and it stores nothing. The put starts with the first chunk, so an empty file too waits.
  let held: Uint8Array | undefined;

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
    // The upload may outlive the response that started it.
    options.background.waitUntil(put.catch(() => {}));
    stored = put;
  }

  const bounded = <T>(promise: Promise<T>, what: string): Promise<T> => withTimeout(promise, timeoutMs, () => new Error(`r2 took longer than ${timeoutMs} ms to ${what}`));

  async function fail(error: unknown): Promise<never> {
    await writer.abort(error).catch(() => {});
    throw error;
  }

  async function pass(chunk: Uint8Array): Promise<void> {
    // Resolves once R2's upload took the chunk: the FixedLengthStream keeps no queue of its own.
    try {
      await bounded(Promise.race([writer.write(chunk), failed]), 'take a chunk');
    } catch (error) {
      await fail(error);
    }
  }

  return {
    async write(chunk) {
      start();
      const previous = held;
      held = chunk;
      if (previous !== undefined) await pass(previous);
    },
    async commit() {
      start();
      if (held !== undefined) await pass(held);
      held = undefined;
      try {
        // close() fails when fewer bytes than meta.size came; R2 refuses bytes that miss the sha256.
        await bounded(Promise.all([writer.close(), stored]), 'store the object');
      } catch (error) {
        await fail(error);
      }
    },
    async abort(reason) {
      held = undefined;
      // Erroring the stream before the full length fails the put: R2 keeps nothing of it. Bounded, so
      // an R2 that hangs cannot hold the download that aborts this copy.
      await writer.abort(reason ?? new Error('copy aborted')).catch(() => {});
      if (stored !== undefined) await bounded(stored, 'end an aborted put').catch(() => {});
    },
  };
}
