import { ProxyError } from '../errors.js';
import { checkMediaUrl } from './url-policy.js';

export type Fetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/**
 * An upstream response whose headers arrived in time, with the means to cut its body off later
 * (idle body, caller gone, integrity failure).
 */
export interface UpstreamResponse {
  readonly response: Response;
  abort(reason?: unknown): void;
}

export class UpstreamTimeout extends Error {
  override readonly name = 'UpstreamTimeout';
}

/**
 * fetch with a deadline on the response headers (UPSTREAM_TIMEOUT_MS) and the caller's signal
 * linked in. The controller outlives the headers so the body can still be aborted.
 */
export async function fetchWithDeadline(fetch: Fetch, url: URL, init: RequestInit, timeoutMs: number, signal?: AbortSignal): Promise<UpstreamResponse> {
  const controller = new AbortController();
  const abort = (reason?: unknown) => controller.abort(reason);
  const onCallerAbort = () => abort(signal?.reason);
  if (signal?.aborted) abort(signal.reason);
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => abort(new UpstreamTimeout(`no response within ${timeoutMs} ms`)), timeoutMs);
  try {
    // redirect: 'manual' everywhere: workerd fails every request made with 'error', and redirects to
    // the CDN are followed by hand so that each hop is checked before the token goes there.
    const response = await fetch(url, { ...init, redirect: 'manual', signal: controller.signal });
    return { response, abort };
  } catch (error) {
    if (controller.signal.reason instanceof UpstreamTimeout) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const MAX_REDIRECTS = 3;

/**
 * GET a CDN URL with the business token. Every hop (the first URL and each redirect) must pass the
 * MEDIA_HOSTS policy before it is contacted, so the Authorization header never reaches another host.
 */
export async function fetchMediaUrl(
  fetch: Fetch,
  rawUrl: string,
  headers: Record<string, string>,
  options: { readonly mediaHosts: readonly string[]; readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<UpstreamResponse> {
  let target = rawUrl;
  for (let hop = 0; ; hop++) {
    const verdict = checkMediaUrl(target, options.mediaHosts);
    if (!verdict.ok || verdict.url === undefined) {
      throw new ProxyError('upstream_host_not_allowed', { detail: `refused download URL (${verdict.refusal ?? 'malformed'})` });
    }
    const upstream = await fetchWithDeadline(fetch, verdict.url, { method: 'GET', headers }, options.timeoutMs, options.signal);
    const { response } = upstream;
    if (response.status < 300 || response.status > 399 || response.status === 304) return upstream;
    upstream.abort();
    const location = response.headers.get('location');
    if (location === null || hop >= MAX_REDIRECTS) {
      throw new ProxyError('upstream_error', { detail: hop >= MAX_REDIRECTS ? 'too many redirects from the media CDN' : 'redirect without a location' });
    }
    try {
      target = new URL(location, verdict.url).href;
    } catch {
      throw new ProxyError('upstream_invalid_response', { detail: 'redirect to a malformed URL' });
    }
  }
}
