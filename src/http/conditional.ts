/**
 * Validators (RFC 9110 §13). Our ETag is strong and derived from Graph's sha256, so a cached file in
 * the browser can be revalidated without the proxy touching the CDN.
 */

function entityTags(header: string): string[] {
  return header.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
}

/** If-None-Match uses the weak comparison (§13.1.2): `W/"x"` matches `"x"`; `*` matches anything. */
export function ifNoneMatchHits(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return entityTags(header).some((tag) => (tag.startsWith('W/') ? tag.slice(2) : tag) === etag);
}

/**
 * If-Range (§13.1.5) uses the strong comparison; a date never matches because we send no
 * Last-Modified. Returns true when the Range header should be honoured.
 */
export function ifRangeAllows(header: string | null | undefined, etag: string): boolean {
  if (header === null || header === undefined) return true;
  return header.trim() === etag;
}
