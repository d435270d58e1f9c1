import type { Config } from '../config.js';
import { ProxyError } from '../errors.js';
import type { ResolvedMedia } from '../graph/resolve-media.js';
import { parseContentRange } from '../http/range.js';
import { fetchMediaUrl, UpstreamTimeout, type Fetch, type UpstreamResponse } from '../upstream/fetch-upstream.js';

export type DownloadAttempt =
  | { readonly kind: 'ok'; readonly upstream: UpstreamResponse }
  /** The URL no longer works (expired, HTML page, CDN hiccup): resolve the id again and retry once. */
  | { readonly kind: 'stale'; readonly reason: string };

export interface DownloadDeps {
  readonly config: Config;
  readonly fetch: Fetch;
  readonly userAgent: string;
}

/**
 * Opens the CDN download for `media`, optionally one byte range of it, and checks the answer before
 * anything is passed on. The body is left unread.
 */
export async function downloadMedia(
  deps: DownloadDeps,
  token: string,
  media: ResolvedMedia,
  range: { readonly start: number; readonly end: number } | undefined,
  signal?: AbortSignal,
): Promise<DownloadAttempt> {
  const headers: Record<string, string> = {
    // The lookaside CDN wants the same bearer token as Graph...
    authorization: `Bearer ${token}`,
    // ...and a User-Agent: without one (or with Node's default "node") it answers 200 text/html,
    // "Sorry, this content isn't available right now", instead of the bytes.
    'user-agent': deps.userAgent,
  };
  if (range) headers.range = `bytes=${range.start}-${range.end}`;

  let upstream: UpstreamResponse;
  try {
    upstream = await fetchMediaUrl(deps.fetch, media.url, headers, {
      mediaHosts: deps.config.mediaHosts,
      timeoutMs: deps.config.upstreamTimeoutMs,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (error instanceof ProxyError) throw error;
    if (error instanceof UpstreamTimeout) throw new ProxyError('upstream_timeout', { detail: 'the media CDN did not answer in time', cause: error });
    if (signal?.aborted) throw error;
    return { kind: 'stale', reason: 'network error before any byte' };
  }

  const { response } = upstream;
  const status = response.status;
  const stale = (reason: string): DownloadAttempt => {
    upstream.abort();
    return { kind: 'stale', reason };
  };
  // An expired lookaside URL answers 401/403/404 (often with an HTML page); 410 is treated alike.
  if (status === 401 || status === 403 || status === 404 || status === 410) return stale(`CDN answered ${status}`);
  if (status >= 500) return stale(`CDN answered ${status}`);
  const contentType = (response.headers.get('content-type') ?? '').toLowerCase();
  if (contentType.startsWith('text/html') && !media.mimeType.startsWith('text/html')) return stale('CDN answered an HTML page');

  if (range) {
    const got = status === 206 ? parseContentRange(response.headers.get('content-range')) : undefined;
    if (got === undefined || got.start !== range.start || got.end !== range.end || got.size !== media.size) {
      upstream.abort();
      throw new ProxyError('upstream_invalid_response', { detail: 'the media CDN answered a different range than asked' });
    }
    return { kind: 'ok', upstream };
  }
  if (status !== 200) {
    upstream.abort();
    throw new ProxyError('upstream_error', { detail: `the media CDN answered ${status}` });
  }
  const length = response.headers.get('content-length');
  if (length !== null && Number(length) !== media.size) {
    upstream.abort();
    throw new ProxyError('upstream_invalid_response', { detail: 'the media CDN announced a different size than Graph' });
  }
  return { kind: 'ok', upstream };
}
