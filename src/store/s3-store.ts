import { LRUCache } from 'lru-cache';
import type { S3StoreConfig } from '../config.js';
import { keyPath, type ByteRange, type MediaKey, type MediaMeta, type StoreTier, type TierHit } from '../cache/media-tier.js';
import { describeError, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { fetchWithDeadline, type Fetch, type UpstreamResponse } from '../upstream/fetch-upstream.js';
import { metaHeaders, parseMetaHeaders } from './s3-object-meta.js';
import { createPutWriter } from './s3-put-writer.js';
import { createS3Addressing, S3StoreError, s3ErrorCode } from './s3-request.js';
import { SHA256_HEX } from '../hash.js';

/**
 * The persistent tier on an S3-compatible bucket (AWS S3, R2's S3 API, MinIO). Web APIs only, so the
 * same code runs on Node and in workerd. Reads: a HEAD rebuilds MediaMeta from the object's
 * metadata, then every range is a ranged GET. Writes: one streamed, self-verifying PUT per file
 * (src/store/s3-put-writer.ts). The store failing is a miss and a warning, never a failed request.
 */

export interface S3StoreOptions {
  readonly config: S3StoreConfig;
  readonly fetch: Fetch;
  readonly logger: Logger;
  /** Deadline for an answer's headers (HEAD, GET, DELETE), for S3 to take a chunk, and for a PUT's answer. */
  readonly timeoutMs: number;
  /**
   * workerd sends a JS stream chunked and drops Content-Length unless the stream declares its length
   * (FixedLengthStream, src/runtime/worker-fixed-length.ts); S3 refuses a chunked PUT. Node's fetch
   * sends the Content-Length header as given, so it needs none.
   */
  readonly withKnownLength?: (body: ReadableStream<Uint8Array>, length: number) => ReadableStream<Uint8Array>;
  /** Hits, misses and writes are counted by the cache and the loader; the store counts what it removes. */
  readonly metrics?: Pick<Metrics, 'storeEviction'>;
}

/** Metadata entries remembered, so a hit costs one GET instead of HEAD + GET. */
const META_CACHE_ENTRIES = 10_000;

export function createS3Store(options: S3StoreOptions): StoreTier {
  const { config, fetch, logger, timeoutMs, metrics } = options;
  const s3 = createS3Addressing(config);
  // The bytes behind a media id never change, so a remembered meta stays true until the object is
  // deleted; a GET of a vanished object then fails open() and forgets it.
  const metas = new LRUCache<string, MediaMeta>({ max: META_CACHE_ENTRIES });
  const where = (key: MediaKey) => ({ store: 's3', account: key.account, mediaId: key.id });

  async function send(method: string, key: MediaKey, headers: Record<string, string> = {}): Promise<UpstreamResponse> {
    const url = s3.objectUrl(s3.objectKey(key));
    return fetchWithDeadline(fetch, url, { method, headers: await s3.sign(method, url, headers) }, timeoutMs);
  }

  async function remove(key: MediaKey): Promise<void> {
    metas.delete(keyPath(key));
    const { response } = await send('DELETE', key);
    if (response.ok || response.status === 404) {
      await response.body?.cancel();
      return;
    }
    throw new S3StoreError(`store answered ${response.status} to a DELETE`, response.status, await s3ErrorCode(response));
  }

  async function open(key: MediaKey, meta: MediaMeta, range: ByteRange | undefined): Promise<ReadableStream<Uint8Array>> {
    const { response, abort } = await send('GET', key, range === undefined ? {} : { range: `bytes=${range.start}-${range.end}` });
    const expected = range === undefined ? meta.size : range.end - range.start + 1;
    const problem = checkRead(response, meta, range, expected);
    if (problem !== undefined) {
      if (response.status === 404 || problem === 'replaced') metas.delete(keyPath(key));
      const code = response.ok ? undefined : await s3ErrorCode(response);
      abort();
      throw new S3StoreError(`store GET unusable: ${problem}`, response.status, code);
    }
    const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return body.pipeThrough(exactLength(expected));
  }

  function hit(key: MediaKey, meta: MediaMeta): TierHit {
    return { meta, open: (range) => open(key, meta, range) };
  }

  return {
    name: 'store',
    kind: 's3',

    async get(key) {
      const cached = metas.get(keyPath(key));
      if (cached !== undefined) return hit(key, cached);
      let response: Response;
      try {
        ({ response } = await send('HEAD', key));
        await response.body?.cancel();
      } catch (error) {
        logger.warn({ ...where(key), error: describeError(error) }, 'store read failed');
        return undefined;
      }
      if (response.status === 404) return undefined;
      if (!response.ok) {
        logger.warn({ ...where(key), status: response.status }, 'store read failed');
        return undefined;
      }
      const meta = parseMetaHeaders(key.id, response.headers);
      if (meta === undefined) {
        // Not written by this proxy, or its metadata was changed: never serve it, and do not keep it.
        logger.warn({ ...where(key), storedBytes: response.headers.get('content-length') }, 'store entry malformed; removed');
        metrics?.storeEviction('malformed');
        await remove(key).catch((error: unknown) => logger.warn({ ...where(key), error: describeError(error) }, 'store delete failed'));
        return undefined;
      }
      metas.set(keyPath(key), meta);
      return hit(key, meta);
    },

    put(key, meta) {
      // x-amz-content-sha256 must be a real digest for S3 to check the bytes; anything else is not stored.
      if (!SHA256_HEX.test(meta.sha256)) return undefined;
      const url = s3.objectUrl(s3.objectKey(key));
      return createPutWriter({
        meta,
        timeoutMs,
        withKnownLength: options.withKnownLength,
        send: async (body, signal) => {
          const headers = await s3.sign('PUT', url, {
            'content-length': String(meta.size),
            'x-amz-content-sha256': meta.sha256,
            'if-none-match': '*',
            ...metaHeaders(meta),
          });
          // duplex: 'half' is what Node's fetch requires for a stream body; workerd ignores it.
          const init: RequestInit & { duplex: 'half' } = { method: 'PUT', headers, body, signal, redirect: 'manual', duplex: 'half' };
          return fetch(url, init);
        },
        // The loader counts the write and logs a failure (with this error's status and S3 code).
        onDone: (outcome, error) => {
          if (outcome === 'ok' || outcome === 'exists') metas.set(keyPath(key), meta);
          logger.debug({ ...where(key), outcome, ...(error === undefined ? {} : { error: describeError(error) }) }, 'store write finished');
        },
      });
    },

    delete: (key) => remove(key),
  };
}

function checkRead(response: Response, meta: MediaMeta, range: ByteRange | undefined, expected: number): string | undefined {
  if (response.status === 404) return 'vanished';
  // A store that ignores Range answers 200 with the whole file: refuse it rather than read it all.
  if (response.status !== (range === undefined ? 200 : 206)) return `status ${response.status}`;
  if (range !== undefined && response.headers.get('content-range') !== `bytes ${range.start}-${range.end}/${meta.size}`) return 'content-range';
  if (response.headers.get('content-length') !== String(expected)) return 'content-length';
  const sha256 = response.headers.get('x-amz-meta-sha256');
  if (sha256 !== null && sha256 !== meta.sha256) return 'replaced';
  return undefined;
}

/** Errors the stream unless exactly `expected` bytes pass: a short read is never a whole answer. */
function exactLength(expected: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > expected) controller.error(new S3StoreError(`store sent more than ${expected} bytes`, undefined, undefined));
      else controller.enqueue(chunk);
    },
    flush(controller) {
      if (seen !== expected) controller.error(new S3StoreError(`store sent ${seen} of ${expected} bytes`, undefined, undefined));
    },
  });
}
