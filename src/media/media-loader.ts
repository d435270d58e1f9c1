import type { Background, CachedMedia, MediaCache } from '../cache/media-cache.js';
import type { Clock } from '../clock.js';
import { ProxyError } from '../errors.js';
import type { MediaResolver, ResolvedMedia } from '../graph/resolve-media.js';
import type { CreateSha256 } from '../hash.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import { readBounded } from '../upstream/read-bounded.js';
import { downloadMedia, type DownloadDeps } from './download-media.js';
import { guardBody } from './guard-body.js';

export interface MediaLoaderDeps extends DownloadDeps {
  readonly resolver: MediaResolver;
  readonly cache: MediaCache;
  readonly createSha256: CreateSha256;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly withKnownLength?: WithKnownLength;
}

/** See AppDeps.withKnownLength. */
export type WithKnownLength = (body: ReadableStream<Uint8Array>, length: number) => ReadableStream<Uint8Array>;

export interface OpenedStream {
  /** The media as finally downloaded (a refresh may have replaced the URL). */
  readonly media: ResolvedMedia;
  readonly body: ReadableStream<Uint8Array>;
}

export interface MediaLoader {
  /**
   * Downloads a small file whole, verifies it against Graph's sha256 and stores it in the cache.
   * Concurrent calls for one id share one download, which is not tied to any one caller: a caller
   * leaving does not fail the others.
   */
  loadIntoMemory(media: ResolvedMedia, background: Background): Promise<CachedMedia>;
  /**
   * Streams a file (or one range of it) too large to cache. Each caller gets its own CDN request,
   * so a slow reader only slows its own transfer and a range is fetched as a range.
   */
  openStream(media: ResolvedMedia, range: { start: number; end: number } | undefined, signal: AbortSignal | undefined, requestId?: string): Promise<OpenedStream>;
}

export function createMediaLoader(deps: MediaLoaderDeps): MediaLoader {
  const metrics = deps.metrics ?? noopMetrics;
  const inflight = new Map<string, Promise<CachedMedia>>();

  /** Opens the download; when the CDN rejects the URL, resolves the id again and retries once. */
  async function openDownload(media: ResolvedMedia, range: { start: number; end: number } | undefined, signal?: AbortSignal) {
    const started = deps.clock.now();
    let current = media;
    for (let attempt = 0; ; attempt++) {
      const result = await downloadMedia(deps, current, range, signal).catch((error: unknown) => {
        metrics.cdnDownload(error instanceof ProxyError ? error.code : 'error', (deps.clock.now() - started) / 1000);
        throw error;
      });
      if (result.kind === 'ok') {
        metrics.cdnDownload('ok', (deps.clock.now() - started) / 1000);
        return { media: current, upstream: result.upstream };
      }
      if (attempt > 0) {
        metrics.cdnDownload('stale', (deps.clock.now() - started) / 1000);
        throw new ProxyError('upstream_error', { detail: `the media CDN refused the download after a URL refresh (${result.reason})` });
      }
      metrics.urlRefresh();
      deps.logger.info({ mediaId: media.id, reason: result.reason }, 'download URL rejected; resolving the id again');
      current = await deps.resolver.resolveMedia(media.id, { staleUrl: current.url });
    }
  }

  /** `requestId` ties a stream's failure to its request's log line (shared small loads have none). */
  function guarded(media: ResolvedMedia, upstream: Parameters<typeof guardBody>[0], verify: boolean, expectedBytes: number, requestId?: string) {
    metrics.downloadStarted();
    const context = requestId === undefined ? { mediaId: media.id } : { requestId, mediaId: media.id };
    return guardBody(upstream, {
      expectedBytes,
      idleTimeoutMs: deps.config.upstreamTimeoutMs,
      ...(verify ? { verify: { hasher: deps.createSha256(), expected: media.sha256 } } : {}),
      onIntegrityMismatch: () => {
        metrics.integrityMismatch();
        deps.logger.error(context, 'media bytes did not match Graph sha256; not served, not cached');
      },
      onSettled: (outcome, error) => {
        metrics.downloadFinished();
        if (error && error.code !== 'integrity_mismatch') {
          deps.logger.warn({ ...context, code: error.code, detail: error.detail, ...(error.cause === undefined ? {} : { cause: describeError(error.cause) }) }, 'media body failed mid-transfer');
        }
      },
    });
  }

  async function load(media: ResolvedMedia, background: Background): Promise<CachedMedia> {
    let body: Uint8Array<ArrayBuffer>;
    // After a refresh, retry on the fresh URL: the first one was already refused by the CDN.
    let current: ResolvedMedia = media;
    for (let attempt = 0; ; attempt++) {
      const opened = await openDownload(current, undefined);
      current = opened.media;
      try {
        body = await readBounded(guarded(current, opened.upstream, true, current.size), current.size);
        break;
      } catch (error) {
        // Nothing has reached any caller yet, so a body cut off mid-transfer is worth one more try.
        // A checksum mismatch or a stall is not: the same bytes or the same wait would come again.
        if (attempt > 0 || !(error instanceof ProxyError) || error.code !== 'upstream_error') throw error;
        deps.logger.warn({ mediaId: media.id, detail: error.detail }, 'download failed mid-body before anything was sent; retrying once');
      }
    }
    const entry: CachedMedia = { id: current.id, mimeType: current.mimeType, sha256: current.sha256, size: current.size, body };
    deps.cache.set(entry, background);
    return entry;
  }

  return {
    loadIntoMemory(media, background) {
      const pending = inflight.get(media.id);
      if (pending) return pending;
      // The slot is taken synchronously; inside it, look at the nearest tier once more: a caller that
      // missed the cache just before another caller's download here finished must not download again.
      const loading = deps.cache
        .getNearest(media.id)
        .then((hit) => hit ?? load(media, background))
        .finally(() => inflight.delete(media.id));
      inflight.set(media.id, loading);
      return loading;
    },

    async openStream(media, range, signal, requestId) {
      const { media: current, upstream } = await openDownload(media, range, signal);
      const expected = range ? range.end - range.start + 1 : current.size;
      // A range that spans the whole file is the file: verify it too. Players open a video with
      // `bytes=0-`, so skipping it would leave the most common large download unchecked.
      const wholeFile = range === undefined || (range.start === 0 && range.end === current.size - 1);
      const body = guarded(current, upstream, wholeFile, expected, requestId);
      return { media: current, body: deps.withKnownLength ? deps.withKnownLength(body, expected) : body };
    },
  };
}
