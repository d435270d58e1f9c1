/**
 * Which upstream URLs the proxy may contact with the business token.
 *
 * The lookaside URL comes from Graph's answer, so it is data, not trust: a compromised or spoofed
 * answer must not be able to make the proxy send `Authorization: Bearer <business token>` anywhere
 * but the media CDN. Rules (camo/go-camo style):
 * - host is listed in MEDIA_HOSTS exactly, or matches a `.suffix` entry (subdomains only);
 * - https on the default port; plain http and other ports only for loopback hosts (local fakes);
 * - no userinfo (`https://user:pass@host/`), which would smuggle credentials and confuse matching;
 * - IP literals only when listed exactly (a `.suffix` entry never matches an address).
 */

export type UrlRefusal =
  | 'malformed'
  | 'scheme'
  | 'userinfo'
  | 'port'
  | 'host_not_allowed';

export interface UrlVerdict {
  readonly ok: boolean;
  readonly url?: URL;
  readonly refusal?: UrlRefusal;
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** True for `[…]` IPv6 literals and dotted-quad IPv4 (WHATWG URL normalises other IPv4 forms). */
export function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || IPV4.test(hostname);
}

/** Loopback: 127.0.0.0/8, ::1, and `localhost` (which RFC 6761 reserves for loopback). */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return IPV4.test(hostname) && hostname.startsWith('127.');
}

/** Normalises a MEDIA_HOSTS entry the way WHATWG URL normalises a hostname, so comparison is exact. */
export function normaliseHostEntry(entry: string): string | undefined {
  const trimmed = entry.trim().toLowerCase();
  if (trimmed === '') return undefined;
  const suffix = trimmed.startsWith('.');
  const bare = suffix ? trimmed.slice(1) : trimmed;
  if (bare === '' || /[\s/?#@:]/.test(bare.replace(/^\[.*\]$/, ''))) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`https://${bare}/`).hostname;
  } catch {
    return undefined;
  }
  if (suffix && isIpLiteral(hostname)) return undefined;
  return suffix ? `.${hostname}` : hostname;
}

/** Does `hostname` (already URL-normalised) match one of the normalised MEDIA_HOSTS entries? */
export function hostMatches(hostname: string, allowed: readonly string[]): boolean {
  for (const entry of allowed) {
    if (entry.startsWith('.')) {
      if (!isIpLiteral(hostname) && hostname.endsWith(entry) && hostname.length > entry.length) return true;
    } else if (hostname === entry) {
      return true;
    }
  }
  return false;
}

/** Scheme, port and userinfo rules shared by the CDN URL and GRAPH_API_URL. */
export function checkTransport(url: URL): UrlRefusal | undefined {
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return 'scheme';
  if (url.username !== '' || url.password !== '') return 'userinfo';
  if (url.port !== '' && !loopback) return 'port';
  return undefined;
}

export function checkMediaUrl(raw: string | URL, allowedHosts: readonly string[]): UrlVerdict {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch {
    return { ok: false, refusal: 'malformed' };
  }
  const refusal = checkTransport(url);
  if (refusal) return { ok: false, refusal };
  if (!hostMatches(url.hostname, allowedHosts)) return { ok: false, refusal: 'host_not_allowed' };
  return { ok: true, url };
}
