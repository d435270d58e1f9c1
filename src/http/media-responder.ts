import type { MediaMeta } from '../cache/media-tier.js';
import { ifNoneMatchHits, ifRangeAllows } from './conditional.js';
import { etagOf, mediaHeaders, type MediaHeaderOptions } from './media-headers.js';
import { parseRange, type RangeDecision } from './range.js';

/**
 * What a media request asks for, read once from the request and independent of where the bytes come
 * from (memory, edge cache or the CDN).
 */
export interface MediaAsk {
  readonly head: boolean;
  readonly download: boolean;
  readonly ifNoneMatch: string | null;
  readonly range: string | null;
  readonly ifRange: string | null;
}

export type MediaPlan =
  | { readonly kind: 'not_modified' }
  | { readonly kind: 'head' }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number };

/** RFC 9110 §13.2.2 order: If-None-Match first, then If-Range/Range. HEAD answers like a full GET. */
export function planMediaResponse(meta: MediaMeta, ask: MediaAsk): MediaPlan {
  const etag = etagOf(meta.sha256);
  if (ifNoneMatchHits(ask.ifNoneMatch, etag)) return { kind: 'not_modified' };
  if (ask.head) return { kind: 'head' };
  const range: RangeDecision = ifRangeAllows(ask.ifRange, etag) ? parseRange(ask.range, meta.size) : { kind: 'full' };
  return range;
}

export class MediaResponder {
  /**
   * Full-response headers, computed once per cached entry and reused for every hit: a hit then only
   * allocates the Response itself. Per responder, as they carry its max-age.
   */
  private readonly headersOfEntry = new WeakMap<MediaMeta, Record<string, string>>();

  constructor(private readonly maxAge: number) {}

  fullHeaders(meta: MediaMeta, download: boolean): Record<string, string> {
    const options: MediaHeaderOptions = { maxAge: this.maxAge, download };
    if (download) return mediaHeaders(meta, options);
    let headers = this.headersOfEntry.get(meta);
    if (headers === undefined) {
      headers = mediaHeaders(meta, options);
      this.headersOfEntry.set(meta, headers);
    }
    return headers;
  }

  /** Answers a plan that needs no body: 304, HEAD, 416. Returns undefined for full/partial. */
  answerWithoutBody(meta: MediaMeta, plan: MediaPlan, ask: MediaAsk, extra?: Record<string, string>): Response | undefined {
    // A body-carrying plan (every cache hit) leaves before any header is looked up: its caller
    // looks the entry's headers up itself, once.
    if (plan.kind === 'full' || plan.kind === 'partial') return undefined;
    const full = this.fullHeaders(meta, ask.download);
    switch (plan.kind) {
      case 'not_modified': {
        // §15.4.5: a 304 carries the validators and caching headers a 200 would, but no content headers.
        const { 'content-type': _t, 'content-length': _l, 'content-disposition': _d, ...rest } = full;
        return new Response(null, { status: 304, headers: { ...rest, ...extra } });
      }
      case 'head':
        return new Response(null, { status: 200, headers: withExtra(full, extra) });
      case 'unsatisfiable': {
        const { 'content-type': _t, 'content-disposition': _d, etag: _e, 'cache-control': _c, ...rest } = full;
        return new Response(null, {
          status: 416,
          headers: { ...rest, 'content-length': '0', 'content-range': `bytes */${meta.size}`, ...extra },
        });
      }
    }
  }

  /** Full or partial answer from bytes in memory: a slice is a view, never a copy. */
  answerFromBytes(meta: MediaMeta, body: Uint8Array<ArrayBuffer>, plan: MediaPlan, ask: MediaAsk, extra?: Record<string, string>): Response {
    const early = this.answerWithoutBody(meta, plan, ask, extra);
    if (early) return early;
    const full = this.fullHeaders(meta, ask.download);
    if (plan.kind === 'partial') {
      return new Response(body.subarray(plan.start, plan.end + 1), {
        status: 206,
        headers: { ...full, ...this.partialHeaders(meta, plan), ...extra },
      });
    }
    return new Response(body, { status: 200, headers: withExtra(full, extra) });
  }

  /** A streamed answer: the body is already verified/limited by the caller of this method. */
  answerWithStream(meta: MediaMeta, plan: MediaPlan, body: ReadableStream<Uint8Array>, ask: MediaAsk, extra?: Record<string, string>): Response {
    const full = this.fullHeaders(meta, ask.download);
    if (plan.kind === 'partial') {
      return new Response(body, { status: 206, headers: { ...full, ...this.partialHeaders(meta, plan), ...extra } });
    }
    return new Response(body, { status: 200, headers: withExtra(full, extra) });
  }

  private partialHeaders(meta: MediaMeta, plan: { start: number; end: number }): Record<string, string> {
    return {
      'content-length': String(plan.end - plan.start + 1),
      'content-range': `bytes ${plan.start}-${plan.end}/${meta.size}`,
    };
  }
}

/**
 * `full` plus the per-request headers (x-request-id). Same keys, values and order as
 * `{ ...full, ...extra }`, which V8 builds through a slow path once a second object is spread in:
 * ~1.1 µs against ~0.2 µs for Object.assign on a 9-header entry, on every cache hit.
 */
function withExtra(full: Record<string, string>, extra: Record<string, string> | undefined): Record<string, string> {
  return extra ? Object.assign({}, full, extra) : full;
}

/** The Content-Length the MediaResponder declares for `plan` (none on a 304; HEAD declares the full size). */
export function declaredLength(meta: MediaMeta, plan: MediaPlan): number | undefined {
  switch (plan.kind) {
    case 'not_modified':
      return undefined;
    case 'unsatisfiable':
      return 0;
    case 'partial':
      return plan.end - plan.start + 1;
    default:
      return meta.size;
  }
}
