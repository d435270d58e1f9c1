import { LRUCache } from 'lru-cache';
import type { MediaMeta } from '../cache/media-tier.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ProxyError, isProxyError } from '../errors.js';
import { safeContentType } from '../http/media-headers.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import { fetchWithDeadline, UpstreamTimeout, type Fetch } from '../upstream/fetch-upstream.js';
import { readBounded } from '../upstream/read-bounded.js';
import { classifyGraphFailure, parseGraphError, type GraphFailure } from './graph-error.js';

/** A resolved media id: what to serve, and the short-lived CDN URL to fetch it from. */
export interface ResolvedMedia extends MediaMeta {
  /** Lookaside URL; valid ~5 minutes, carries a signature: never log it. */
  readonly url: string;
}

export interface MediaResolver {
  /**
   * Graph `GET /{version}/{id}`. Answers come from a short cache unless `staleUrl` is given: the CDN
   * rejected that URL, so the cached answer is reused only if it already holds a newer URL (another
   * caller refreshed meanwhile). Concurrent lookups of one id share one Graph request.
   */
  resolveMedia(id: string, options?: { readonly staleUrl?: string }): Promise<ResolvedMedia>;
}

export interface MediaResolverDeps {
  readonly config: Config;
  /** The account's system-user token: Graph and the CDN both want it. */
  readonly token: string;
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly userAgent: string;
  readonly metrics?: Metrics;
  /** Backoff base; the n-th retry waits base·2ⁿ scaled by a random factor in [0.5, 1). */
  readonly retryBaseMs?: number;
  readonly random?: () => number;
}

const MAX_GRAPH_BODY = 64 * 1024;
const MAX_BACKOFF_MS = 5_000;
const TOKEN_REJECTED_BACKOFF_MS = 10_000;

class TransientFailure extends Error {
  constructor(readonly error: ProxyError) {
    super(error.message);
  }
}

export function createMediaResolver(deps: MediaResolverDeps): MediaResolver {
  const { config, fetch, clock, logger, userAgent } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const retryBaseMs = deps.retryBaseMs ?? 200;
  const random = deps.random ?? Math.random;
  const perf = { now: () => clock.now() };
  // lru-cache's fetch() is the single-flight: concurrent calls for one id share one fetchMethod call
  // (a forced refresh joins a lookup already in flight), the answer is stored with its TTL, and a
  // failure reaches every waiter and leaves nothing cached. ignoreFetchAbort: an entry evicted while
  // its lookup runs must not fail the callers waiting on it.
  const resolved = new LRUCache<string, ResolvedMedia>({
    max: 10_000,
    ttl: config.resolveTtlMs,
    ttlResolution: 0,
    perf,
    ignoreFetchAbort: true,
    fetchMethod: (id) => lookupWithRetries(id),
  });
  const notFound =
    config.notFoundTtlMs > 0 ? new LRUCache<string, true>({ max: 10_000, ttl: config.notFoundTtlMs, ttlResolution: 0, perf }) : undefined;
  let rateLimitedUntil = 0;
  // After Graph rejects WHATSAPP_TOKEN itself (code 190), every lookup would fail the same way until
  // an operator replaces it; asking again at request rate only adds failures that can get an account's
  // media lookups blocked. Fail fast for a short while, then try again (a token may be fixed live).
  let tokenRejectedUntil = 0;

  const endpoint = (id: string) => new URL(`${config.graphApiUrl}/${config.graphApiVersion}/${id}`);
  const headers = {
    authorization: `Bearer ${deps.token}`,
    'user-agent': userAgent,
    accept: 'application/json',
  };

  async function lookupOnce(id: string): Promise<ResolvedMedia> {
    let upstream;
    try {
      upstream = await fetchWithDeadline(fetch, endpoint(id), { method: 'GET', headers }, config.upstreamTimeoutMs);
    } catch (error) {
      if (error instanceof UpstreamTimeout) throw new ProxyError('upstream_timeout', { detail: 'Graph did not answer in time', cause: error });
      // Connection refused/reset before any byte: worth another try.
      throw new TransientFailure(new ProxyError('upstream_unavailable', { detail: 'Graph could not be reached', cause: error }));
    }
    const { response } = upstream;
    let text: string;
    // The deadline covers the (small) body too: headers followed by silence must not hang a lookup.
    let timedOut = false;
    const bodyTimer = setTimeout(() => {
      timedOut = true;
      upstream.abort(new UpstreamTimeout('Graph body stalled'));
    }, config.upstreamTimeoutMs);
    try {
      text = new TextDecoder().decode(await readBounded(response.body, MAX_GRAPH_BODY));
    } catch (error) {
      upstream.abort();
      if (timedOut) throw new ProxyError('upstream_timeout', { detail: 'Graph did not answer in time', cause: error });
      throw new TransientFailure(new ProxyError('upstream_unavailable', { detail: 'Graph answer was cut off', cause: error }));
    } finally {
      clearTimeout(bodyTimer);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.status === 200) return parseMediaAnswer(id, body);
    handleFailure(id, classifyGraphFailure(response.status, parseGraphError(body), response.headers.get('retry-after')));
  }

  function handleFailure(id: string, failure: GraphFailure): never {
    metrics.graphError(failure.error.code);
    switch (failure.kind) {
      case 'not_found':
        notFound?.set(id, true);
        throw failure.error;
      case 'rate_limited':
        rateLimitedUntil = Math.max(rateLimitedUntil, clock.now() + failure.retryAfter * 1000);
        logger.warn({ code: failure.error.code, retryAfter: failure.retryAfter }, 'Graph rate limit reached; failing fast until it passes');
        throw failure.error;
      case 'transient':
        throw new TransientFailure(failure.error);
      case 'fatal':
        if (failure.error.code === 'upstream_auth_failed') tokenRejectedUntil = clock.now() + TOKEN_REJECTED_BACKOFF_MS;
        if (failure.loud) logger.error({ code: failure.error.code, detail: failure.error.detail }, 'Graph refused the proxy: check WHATSAPP_TOKEN and its permissions');
        throw failure.error;
    }
  }

  async function lookupWithRetries(id: string): Promise<ResolvedMedia> {
    const started = clock.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const media = await lookupOnce(id);
        metrics.graphLookup('ok', (clock.now() - started) / 1000);
        return media;
      } catch (error) {
        if (!(error instanceof TransientFailure) || attempt >= config.graphMaxRetries) {
          const final = error instanceof TransientFailure ? error.error : error;
          metrics.graphLookup(isProxyError(final) ? final.code : 'error', (clock.now() - started) / 1000);
          if (!isProxyError(final)) logger.error({ error: describeError(final) }, 'Graph lookup failed unexpectedly');
          throw final;
        }
        const delay = Math.min(MAX_BACKOFF_MS, retryBaseMs * 2 ** attempt * (0.5 + random() / 2));
        logger.warn({ attempt: attempt + 1, delayMs: Math.round(delay), error: describeError(error.error) }, 'Graph lookup failed; retrying');
        await clock.sleep(delay);
      }
    }
  }

  return {
    resolveMedia(id, options) {
      if (notFound?.has(id)) return Promise.reject(new ProxyError('media_not_found'));
      // get() sees only a settled answer; while a lookup is in flight it is undefined, and fetch() below
      // joins that lookup (it is fresh either way, so a refresh joins it too).
      const cached = resolved.get(id);
      if (cached && cached.url !== options?.staleUrl) return Promise.resolve(cached);
      if (clock.now() < tokenRejectedUntil) {
        return Promise.reject(new ProxyError('upstream_auth_failed', { detail: 'Graph rejected WHATSAPP_TOKEN moments ago' }));
      }
      const waitSeconds = Math.ceil((rateLimitedUntil - clock.now()) / 1000);
      if (waitSeconds > 0) {
        return Promise.reject(new ProxyError('upstream_rate_limited', { retryAfter: waitSeconds }));
      }
      return resolved.forceFetch(id, { forceRefresh: cached !== undefined });
    },
  };
}

/** SHA-256 of zero bytes. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function parseMediaAnswer(id: string, body: unknown): ResolvedMedia {
  const invalid = (what: string) => new ProxyError('upstream_invalid_response', { detail: `Graph answer has no valid ${what}` });
  if (typeof body !== 'object' || body === null) throw invalid('JSON body');
  const b = body as Record<string, unknown>;
  if (typeof b.url !== 'string' || b.url === '') throw invalid('url');
  if (typeof b.mime_type !== 'string') throw invalid('mime_type');
  if (typeof b.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(b.sha256)) throw invalid('sha256');
  // Graph sends file_size as a number or as a numeric string (Meta's own example shows a string).
  const size = typeof b.file_size === 'number' ? b.file_size : typeof b.file_size === 'string' && /^\d{1,15}$/.test(b.file_size) ? Number(b.file_size) : NaN;
  if (!Number.isSafeInteger(size) || size < 0) throw invalid('file_size');
  // An empty file can only have the sha256 of nothing; and a caller told Content-Length: 0 has the
  // whole answer with its headers, before any check of the (absent) bytes could fail it.
  const sha256 = b.sha256.toLowerCase();
  if (size === 0 && sha256 !== EMPTY_SHA256) throw invalid('sha256 for an empty file');
  return { id, url: b.url, mimeType: safeContentType(b.mime_type), sha256, size };
}
