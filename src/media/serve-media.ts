import type { MediaCache } from '../cache/media-cache.js';
import type { Background, MediaKey } from '../cache/media-tier.js';
import type { Config } from '../config.js';
import { ProxyError } from '../errors.js';
import { declaredLength, MediaResponder, planMediaResponse, type MediaAsk } from '../http/media-responder.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import type { AccountUpstream, MediaLoader, StreamSource, WithKnownLength } from './media-loader.js';

export interface ServeMediaDeps {
  readonly config: Config;
  readonly cache: MediaCache;
  readonly account: (name: string) => AccountUpstream;
  readonly loader: MediaLoader;
  readonly metrics?: Metrics;
  readonly withKnownLength?: WithKnownLength;
}

/** How the answer was produced, for the request log line. */
export type CacheOutcome = `hit:${string}` | StreamSource;

export interface ServedMedia {
  readonly response: Response;
  readonly cache: CacheOutcome;
  /** The answer's Content-Length, for the request log (reading it back from the Response costs a Headers object). */
  readonly bytes: number | undefined;
}

/**
 * GET/HEAD /media/:id after the caller is authorised, top-down: memory, edge cache, store (a hit asks
 * Graph nothing); otherwise resolve the id (HEAD, 304 and 416 need nothing more), refuse what is too
 * large, and stream the download that fills every tier (or one range of it).
 */
export function createMediaServer(deps: ServeMediaDeps) {
  const responder = new MediaResponder(deps.config.clientCacheMaxAge);
  const metrics = deps.metrics ?? noopMetrics;
  const known = (body: ReadableStream<Uint8Array>, length: number) => (deps.withKnownLength ? deps.withKnownLength(body, length) : body);

  /**
   * `signal` is read only when a download is tied to this caller: on @hono/node-server creating a
   * request's AbortSignal costs a few µs, a noticeable share of a cache hit.
   */
  return async function serveMedia(key: MediaKey, ask: MediaAsk, signal: () => AbortSignal | undefined, background: Background, requestId: string, extra?: Record<string, string>): Promise<ServedMedia> {
    const found = await deps.cache.get(key);
    if (found) {
      const { meta } = found.hit;
      const plan = planMediaResponse(meta, ask);
      const cache = `hit:${found.tier}` as const;
      const bytes = declaredLength(meta, plan);
      let held = found.hit.bytes;
      if (held === undefined || found.index > 0) {
        const early = responder.answerWithoutBody(meta, plan, ask, extra);
        if (early) return (metrics.cacheHit(found.tier), { response: early, cache, bytes });
        if (held === undefined && found.hit.confirm !== undefined) {
          // Not checked since this process started: a file an earlier tier takes (a small one, into
          // memory) is read and checked whole before anything is sent, so a corrupt copy is answered
          // from upstream instead of cut off. Larger ones are checked as they stream (CheckedReader).
          const promoted = await deps.loader.promote(key, found, background);
          if (promoted === 'corrupt') return miss(key, ask, signal, background, requestId, extra);
          held = promoted?.bytes;
        } else {
          // Copy it into the earlier tiers (a small file into memory) without holding this answer up:
          // the caller streams from the store meanwhile.
          background.waitUntil(deps.loader.promote(key, found, background));
        }
      }
      if (held !== undefined) return (metrics.cacheHit(found.tier), { response: responder.answerFromBytes(meta, held, plan, ask, extra), cache, bytes });
      if (plan.kind !== 'full' && plan.kind !== 'partial') throw new ProxyError('internal');
      const range = plan.kind === 'partial' ? { start: plan.start, end: plan.end } : undefined;
      const body = await deps.loader.openHit(key, found, range, background).catch(() => undefined);
      // Gone since the lookup (evicted by another process, erased), or a range of a copy that failed
      // its check (removed): the upstream may still have it.
      if (body === undefined) return miss(key, ask, signal, background, requestId, extra);
      metrics.cacheHit(found.tier);
      return { response: responder.answerWithStream(meta, plan, known(body, bytes ?? meta.size), ask, extra), cache, bytes };
    }
    return miss(key, ask, signal, background, requestId, extra);
  };

  async function miss(key: MediaKey, ask: MediaAsk, signal: () => AbortSignal | undefined, background: Background, requestId: string, extra?: Record<string, string>): Promise<ServedMedia> {
    metrics.cacheMiss();
    const media = await deps.account(key.account).resolver.resolveMedia(key.id);
    if (media.size > deps.config.maxMediaBytes) {
      throw new ProxyError('media_too_large', { detail: `Graph announces ${media.size} bytes; this proxy serves at most ${deps.config.maxMediaBytes}` });
    }
    const plan = planMediaResponse(media, ask);
    const early = responder.answerWithoutBody(media, plan, ask, extra);
    if (early) return { response: early, cache: 'miss', bytes: declaredLength(media, plan) };
    if (plan.kind !== 'full' && plan.kind !== 'partial') throw new ProxyError('internal');
    const range = plan.kind === 'partial' ? { start: plan.start, end: plan.end } : undefined;
    const callerSignal = signal();
    const opened = await deps.loader.stream(key, media, range, callerSignal, background, requestId);
    if (callerSignal?.aborted) {
      // Left while the download opened: the download goes on for the other readers and the tiers.
      await opened.body.cancel().catch(() => {});
      throw new ProxyError('client_closed_request');
    }
    return { response: responder.answerWithStream(opened.media, plan, opened.body, ask, extra), cache: opened.source, bytes: declaredLength(opened.media, plan) };
  }
}
