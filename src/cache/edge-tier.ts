import { describeError, type Logger } from '../logger.js';
import { bytesHit, type MediaKey, type MediaTier } from './media-tier.js';
import { SHA256_HEX } from '../hash.js';

/**
 * The Workers Cache API (`caches.default`) as a cache tier shared by every isolate of one Cloudflare
 * location. It holds the same verified bytes the memory tier does, so a request that lands on a fresh
 * isolate is answered without Graph or the CDN; the memory tier in front of it keeps the hot ones.
 *
 * The key is a synthetic URL built from the account and media id alone: never the caller token (two
 * callers share one entry) and never the lookaside URL (it changes every 5 minutes and carries a signature). The
 * host is not one the Worker serves, so a client request can never be answered from or poison it.
 *
 * The stored response is for this tier only; every header a caller sees is still decided by
 * src/http/media-headers.ts from the metadata read back here.
 */

/** Bytes behind a media id never change; a day keeps the copy near the age WhatsApp keeps its blobs. */
export const EDGE_TTL_SECONDS = 86_400;
export const EDGE_KEY_ORIGIN = 'https://media-cache.whatsapp-media-proxy.invalid';

const SHA256_HEADER = 'x-media-sha256';
const SIZE_HEADER = 'x-media-size';

/** The part of the Cache API this tier uses, so tests may pass any cache (caches.open, a fake). */
export interface EdgeCache {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface EdgeTierOptions {
  readonly cache: EdgeCache;
  readonly logger: Logger;
  /** Largest file kept (CACHE_MAX_ITEM_BYTES): an entry is read whole into the isolate's memory. */
  readonly maxItemBytes: number;
  readonly ttlSeconds?: number;
}

export function edgeCacheKey(media: MediaKey): string {
  return `${EDGE_KEY_ORIGIN}/media/${encodeURIComponent(media.account)}/${encodeURIComponent(media.id)}`;
}

export function createEdgeTier(options: EdgeTierOptions): MediaTier {
  const { cache, logger, maxItemBytes } = options;
  const ttl = options.ttlSeconds ?? EDGE_TTL_SECONDS;

  return {
    name: 'edge',

    async get(media) {
      const id = media.id;
      const key = edgeCacheKey(media);
      let stored: Response | undefined;
      let body: Uint8Array<ArrayBuffer>;
      try {
        stored = await cache.match(key);
        if (stored === undefined) return undefined;
        body = new Uint8Array(await stored.arrayBuffer());
      } catch (error) {
        // The edge cache is an optimisation: when it fails, the request goes to Graph and the CDN.
        logger.warn({ mediaId: id, error: describeError(error) }, 'edge cache read failed');
        return undefined;
      }
      const sha256 = stored.headers.get(SHA256_HEADER) ?? '';
      const size = Number(stored.headers.get(SIZE_HEADER));
      const mimeType = stored.headers.get('content-type');
      if (!SHA256_HEX.test(sha256) || mimeType === null || !Number.isSafeInteger(size) || body.byteLength !== size) {
        // Written by something else, or cut short: do not serve it, and do not keep it.
        logger.warn({ mediaId: id, storedBytes: body.byteLength }, 'edge cache entry malformed; dropped');
        await cache.delete(key).catch(() => false);
        return undefined;
      }
      return bytesHit({ id, mimeType, sha256, size }, body);
    },

    put(media, meta, background) {
      if (meta.size > maxItemBytes) return undefined;
      // Buffered, then put whole on commit: the Cache API stores whatever a put's body ends with, so
      // an unverified body must never reach it.
      const body = new Uint8Array(meta.size);
      let filled = 0;
      return {
        async write(chunk) {
          if (filled + chunk.byteLength > body.byteLength) throw new RangeError('more bytes than announced');
          body.set(chunk, filled);
          filled += chunk.byteLength;
        },
        async commit() {
          if (filled !== body.byteLength) throw new RangeError(`${filled} of ${body.byteLength} bytes`);
          const response = new Response(body, {
            headers: {
              'content-type': meta.mimeType,
              'content-length': String(meta.size),
              etag: `"${meta.sha256}"`,
              // The Cache API keeps an entry as long as its Cache-Control allows (and evicts earlier
              // when space runs short); `public` because the key carries no caller identity.
              'cache-control': `public, max-age=${ttl}, immutable`,
              [SHA256_HEADER]: meta.sha256,
              [SIZE_HEADER]: String(meta.size),
            },
          });
          background.waitUntil(
            cache.put(edgeCacheKey(media), response).catch((error: unknown) => {
              logger.warn({ mediaId: media.id, error: describeError(error) }, 'edge cache write failed');
            }),
          );
        },
        abort: async () => {},
      };
    },

    async delete(media) {
      // This location only: other Cloudflare locations keep their copy until it expires (README).
      await cache.delete(edgeCacheKey(media));
    },
  };
}
