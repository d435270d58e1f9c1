import { signMediaToken, type SignMediaTokenOptions } from './sign-media-token.js';

export interface MediaUrlOptions extends Omit<SignMediaTokenOptions, 'media' | 'scope' | 'windowSeconds'> {
  /** Where the proxy is reached, e.g. `https://proxy.example` or `https://example.com/wa-media/`. */
  readonly baseUrl: string;
  /** The one media id the link (and its token) is for. */
  readonly id: string;
  /** See SignMediaTokenOptions.windowSeconds: the link is the same string all through one window. */
  readonly windowSeconds: number;
  /** Add `download=1`: the proxy answers with `Content-Disposition: attachment`. */
  readonly download?: boolean;
}

/**
 * The whole link for one media id, `<baseUrl>/media/<id>?token=<jwt>`, with a token for that id alone
 * and aligned to a window. Browsers key their HTTP cache by the full URL, query included, so a link
 * that stays the same string across token refreshes lets `Cache-Control: immutable` do its work; a
 * per-id token also means a leaked link opens one file, not a conversation.
 */
export async function mediaUrl(options: MediaUrlOptions): Promise<string> {
  const { baseUrl, id, download, ...signing } = options;
  const base = proxyBase(baseUrl);
  const token = await signMediaToken({ ...signing, media: [id] });
  // A JWT is base64url segments joined by dots: nothing in it needs percent-encoding.
  return `${base}/media/${id}?token=${token}${download === true ? '&download=1' : ''}`;
}

/** The base URL without its trailing slash, after checking it can carry `/media/<id>?token=…`. */
function proxyBase(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`baseUrl must be http or https, not ${url.protocol}`);
  // Checked on the text: `new URL('https://p.example/?')` has an empty search but the `?` would stay.
  if (baseUrl.includes('?') || baseUrl.includes('#')) throw new TypeError('baseUrl must have no query or fragment');
  if (url.username !== '' || url.password !== '') throw new TypeError('baseUrl must not carry credentials');
  // href, not the input: the same proxy always gives the same string (lower-case host, default port dropped).
  return url.href.replace(/\/$/, '');
}
