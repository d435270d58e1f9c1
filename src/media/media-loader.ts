import type { CacheHit, MediaCache, TierCopy } from '../cache/media-cache.js';
import { keyPath, type Background, type ByteRange, type MediaKey } from '../cache/media-tier.js';
import type { Clock } from '../clock.js';
import { ProxyError } from '../errors.js';
import type { MediaResolver, ResolvedMedia } from '../graph/resolve-media.js';
import type { CreateSha256 } from '../hash.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import type { UpstreamResponse } from '../upstream/fetch-upstream.js';
import { downloadMedia, type DownloadDeps } from './download-media.js';
import { createCheckedReader } from './checked-read.js';
import { createPromoter, type Promotion } from './promote-hit.js';
import { guardBody } from './guard-body.js';
import { SharedDownload, type DownloadOutcome } from './shared-download.js';

export interface MediaLoaderDeps extends DownloadDeps {
  /** The key's account: its token and resolver (throws unknown_account for one not configured). */
  readonly account: (name: string) => AccountUpstream;
  readonly cache: MediaCache;
  readonly createSha256: CreateSha256;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly withKnownLength?: WithKnownLength;
}

/** What the loader needs of an account. Its token never leaves the upstream requests. */
export interface AccountUpstream {
  readonly token: string;
  readonly resolver: MediaResolver;
}

/** See AppDeps.withKnownLength. */
export type WithKnownLength = (body: ReadableStream<Uint8Array>, length: number) => ReadableStream<Uint8Array>;

/** How a caller's bytes are produced, for the request log: a new download, a running one, or its own CDN request. */
export type StreamSource = 'miss' | 'join' | 'stream';

export interface OpenedStream {
  /** The media as finally downloaded (a refresh may have replaced the URL). */
  readonly media: ResolvedMedia;
  readonly body: ReadableStream<Uint8Array>;
  readonly source: StreamSource;
}

export interface MediaLoader {
  /**
   * The file, or one range of it, for one caller. The whole file joins the download of this id that
   * is running, or starts one that fills every tier; a range joins a running download when its bytes
   * are there or next, and is otherwise fetched from the CDN as a range while the whole file is
   * fetched into the tiers in the background (once per id, however many ranges a player sends).
   */
  stream(key: MediaKey, media: ResolvedMedia, range: ByteRange | undefined, signal: AbortSignal | undefined, background: Background, requestId: string): Promise<OpenedStream>;
  /** Gets the file into every tier that takes it (prefetch); resolves when the download ended verified. */
  fill(key: MediaKey, media: ResolvedMedia, background: Background): Promise<DownloadOutcome<TierCopy>>;
  /**
   * A hit in a later tier, copied into the earlier ones that take it (a small file found in the store
   * goes to memory, its sha256 checked on the way; a corrupt entry is removed instead). Never rejects;
   * serve-media awaits it for a copy not yet checked, so the caller is answered from checked bytes.
   */
  promote(key: MediaKey, found: CacheHit, background: Background): Promise<Promotion>;
  /** A tier's copy (or one range of it) for a caller, checked when the tier cannot vouch for it (see CheckedReader.open). */
  openHit(key: MediaKey, found: CacheHit, range: ByteRange | undefined, background: Background): Promise<ReadableStream<Uint8Array>>;
  /** Erasure: a running download of `key` keeps serving its readers but leaves no copy anywhere. */
  forget(key: MediaKey): void;
  /** Resolves once every running download has ended and its copies are committed (shutdown). */
  drain(): Promise<void>;
}

/** Files up to this size keep every chunk while downloading, so late joiners replay from the start. */
const RETAIN_ALL_MIN_BYTES = 16 * 1024 * 1024;
/** Larger files: how far the download may run ahead of its slowest caller. */
const WINDOW_BYTES = 8 * 1024 * 1024;

export function createMediaLoader(deps: MediaLoaderDeps): MediaLoader {
  const metrics = deps.metrics ?? noopMetrics;
  const retainAllBytes = Math.max(RETAIN_ALL_MIN_BYTES, deps.config.cacheMaxItemBytes);
  const running = new Map<string, Promise<SharedDownload<TierCopy>>>();
  const checked = createCheckedReader({ cache: deps.cache, createSha256: deps.createSha256, metrics, logger: deps.logger });
  const promote = createPromoter({ cache: deps.cache, checked, logger: deps.logger });

  /** Opens the download; when the CDN rejects the URL, resolves the id again and retries once. */
  async function openDownload(key: MediaKey, media: ResolvedMedia, range: ByteRange | undefined, signal?: AbortSignal) {
    const started = deps.clock.now();
    const account = deps.account(key.account);
    let current = media;
    for (let attempt = 0; ; attempt++) {
      const result = await downloadMedia(deps, account.token, current, range, signal).catch((error: unknown) => {
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
      const refreshed = await account.resolver.resolveMedia(media.id, { staleUrl: current.url });
      // The caller was told this file's length and ETag, and the tiers were opened for it: a refresh
      // that names other bytes (another sha256 or file_size) cannot go on with this answer.
      if (refreshed.size !== media.size || refreshed.sha256 !== media.sha256) {
        throw new ProxyError('upstream_error', { detail: 'Graph answered another sha256 or file_size for the media when its URL was refreshed' });
      }
      current = refreshed;
    }
  }

  /** `requestId` ties a stream's failure to its request's log line (a prefetch has none). */
  function guarded(media: ResolvedMedia, upstream: UpstreamResponse, verify: boolean, expectedBytes: number, requestId?: string) {
    metrics.downloadStarted();
    const context = requestId === undefined ? { mediaId: media.id } : { requestId, mediaId: media.id };
    return guardBody({ body: upstream.response.body, abort: upstream.abort }, {
      expectedBytes,
      idleTimeoutMs: deps.config.upstreamTimeoutMs,
      ...(verify ? { verify: { hasher: deps.createSha256(), expected: media.sha256 } } : {}),
      onIntegrityMismatch: () => {
        metrics.integrityMismatch();
        deps.logger.error(context, 'media bytes did not match Graph sha256; not served, not stored');
      },
      onSettled: (outcome, error) => {
        metrics.downloadFinished();
        if (error && error.code !== 'integrity_mismatch') {
          deps.logger.warn({ ...context, code: error.code, detail: error.detail, ...(error.cause === undefined ? {} : { cause: describeError(error.cause) }) }, 'media body failed mid-transfer');
        }
      },
    });
  }

  /** Starts the one download of `key` that fills every tier, or undefined when no tier takes the file. */
  async function start(key: MediaKey, media: ResolvedMedia, background: Background, needsReaders: boolean, requestId?: string): Promise<SharedDownload<TierCopy> | undefined> {
    const writers = deps.cache.writers(key, media, background);
    if (writers.length === 0 && !needsReaders) return undefined;
    let opened;
    try {
      opened = await openDownload(key, media, undefined);
    } catch (error) {
      await Promise.all(writers.map((w) => w.abort(error)));
      throw error;
    }
    const download = new SharedDownload({
      source: guarded(opened.media, opened.upstream, true, opened.media.size, requestId),
      size: opened.media.size,
      writers,
      retainAll: opened.media.size <= retainAllBytes,
      windowBytes: WINDOW_BYTES,
      awaitFirstReader: needsReaders,
      onWriterFailed: (writer, error) => {
        if (writer.tier === 'store') metrics.storeWrite('failed', 0);
        deps.logger.warn({ mediaId: key.id, account: key.account, tier: writer.tier, error: describeError(error) }, 'a tier could not keep its copy; serving on');
      },
    });
    const settled = download.done.then(
      (outcome) => {
        if (outcome.committed.some((w) => w.tier === 'store')) metrics.storeWrite('ok', media.size);
      },
      () => {
        // Not verified (or everybody left), so not kept; each reader saw the failure on its own stream.
        if (writers.some((w) => w.tier === 'store')) metrics.storeWrite('refused', 0);
      },
    );
    // The copies may still be written after the response ended (Workers: waitUntil keeps it alive).
    background.waitUntil(settled);
    return download;
  }

  /**
   * The running download of `key`, or a new one; concurrent first callers share one start. Its
   * failures are logged with the request id of the caller that started it.
   */
  function shared(key: MediaKey, media: ResolvedMedia, background: Background, needsReaders: boolean, requestId?: string): Promise<SharedDownload<TierCopy> | undefined> {
    const path = keyPath(key);
    const existing = running.get(path);
    if (existing) return existing;
    const starting = start(key, media, background, needsReaders, requestId);
    const slot = starting.then((d) => d ?? Promise.reject(new NoTierTakesIt()));
    slot.catch(() => {});
    running.set(path, slot);
    const release = () => {
      if (running.get(path) === slot) running.delete(path);
    };
    slot.then((d) => d.done.then(release, release), release);
    return starting;
  }

  /** The caller's own CDN request: a range (not verifiable), or a whole file a running download dropped. */
  async function own(key: MediaKey, media: ResolvedMedia, range: ByteRange | undefined, signal: AbortSignal | undefined, requestId: string): Promise<OpenedStream> {
    const { media: current, upstream } = await openDownload(key, media, range, signal);
    const expected = range ? range.end - range.start + 1 : current.size;
    return { media: current, body: known(guarded(current, upstream, range === undefined, expected, requestId), expected), source: 'stream' };
  }

  const known = (body: ReadableStream<Uint8Array>, length: number) => (deps.withKnownLength ? deps.withKnownLength(body, length) : body);

  return {
    async stream(key, media, range, signal, background, requestId) {
      // A range that spans the whole file is the file: players open a video with `bytes=0-`.
      const whole = range === undefined || (range.start === 0 && range.end === media.size - 1) ? undefined : range;
      const expected = whole ? whole.end - whole.start + 1 : media.size;
      const joined = running.has(keyPath(key));
      const download = await (whole === undefined || joined ? shared(key, media, background, whole === undefined, requestId) : undefined)?.catch((error: unknown) => {
        if (error instanceof NoTierTakesIt) return undefined;
        throw error;
      });
      const body = download?.attach(whole);
      if (download !== undefined && body !== undefined) return { media, body: known(body, expected), source: joined ? 'join' : 'miss' };
      if (whole !== undefined && !joined) {
        // The player asked for a part: answer it from the CDN now, and fetch the whole file once.
        background.waitUntil(shared(key, media, background, false).catch(() => undefined));
      }
      return own(key, media, whole, signal, requestId);
    },

    async fill(key, media, background) {
      const download = await shared(key, media, background, false);
      if (download === undefined) return { committed: [] };
      return download.done;
    },

    promote,

    openHit: (key, found, range, background) => checked.open(key, found, range, background),

    async drain() {
      await Promise.all([...running.values()].map((slot) => slot.then((d) => d.done).catch(() => undefined)));
    },

    forget(key) {
      void running.get(keyPath(key))?.then((d) => d.dropWriters(), () => {});
    },
  };
}

class NoTierTakesIt extends Error {}
