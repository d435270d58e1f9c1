import type { Background, MediaCache } from '../cache/media-cache.js';
import type { Config } from '../config.js';
import { ProxyError } from '../errors.js';
import type { MediaResolver } from '../graph/resolve-media.js';
import { declaredLength, MediaResponder, planMediaResponse, type MediaAsk } from '../http/media-responder.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import type { MediaLoader } from './media-loader.js';

export interface ServeMediaDeps {
  readonly config: Config;
  readonly cache: MediaCache;
  readonly resolver: MediaResolver;
  readonly loader: MediaLoader;
  readonly metrics?: Metrics;
}

/** How the answer was produced, for the request log line. */
export type CacheOutcome = `hit:${string}` | 'miss' | 'stream';

export interface ServedMedia {
  readonly response: Response;
  readonly cache: CacheOutcome;
  /** The answer's Content-Length, for the request log (reading it back from the Response costs a Headers object). */
  readonly bytes: number | undefined;
}

/**
 * GET/HEAD /media/:id after the caller is authorised: memory or edge cache first; otherwise resolve
 * the id (HEAD, 304 and 416 need nothing more), then either load a small file into the cache or
 * stream a large one (a range as a range).
 */
export function createMediaServer(deps: ServeMediaDeps) {
  const responder = new MediaResponder(deps.config.clientCacheMaxAge);
  const metrics = deps.metrics ?? noopMetrics;

  /**
   * `signal` is read only when a download is tied to this caller: on @hono/node-server creating a
   * request's AbortSignal costs a few µs, a noticeable share of a cache hit.
   */
  return async function serveMedia(id: string, ask: MediaAsk, signal: () => AbortSignal | undefined, background: Background, requestId: string, extra?: Record<string, string>): Promise<ServedMedia> {
    const hit = await deps.cache.get(id, background);
    if (hit) {
      metrics.cacheHit(hit.tier);
      const plan = planMediaResponse(hit.media, ask);
      return { response: responder.answerFromBytes(hit.media, plan, ask, extra), cache: `hit:${hit.tier}`, bytes: declaredLength(hit.media, plan) };
    }
    metrics.cacheMiss();

    const media = await deps.resolver.resolveMedia(id);
    const plan = planMediaResponse(media, ask);
    const early = responder.answerWithoutBody(media, plan, ask, extra);
    if (early) return { response: early, cache: 'miss', bytes: declaredLength(media, plan) };

    if (media.size <= deps.config.cacheMaxItemBytes) {
      const loaded = await deps.loader.loadIntoMemory(media, background);
      return { response: responder.answerFromBytes(loaded, plan, ask, extra), cache: 'miss', bytes: declaredLength(loaded, plan) };
    }
    if (plan.kind !== 'full' && plan.kind !== 'partial') throw new ProxyError('internal');
    const range = plan.kind === 'partial' ? { start: plan.start, end: plan.end } : undefined;
    const opened = await deps.loader.openStream(media, range, signal(), requestId);
    return { response: responder.answerWithStream(opened.media, plan, opened.body, ask, extra), cache: 'stream', bytes: declaredLength(opened.media, plan) };
  };
}
