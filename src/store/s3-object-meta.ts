import type { MediaMeta } from '../cache/media-tier.js';
import { SHA256_HEX } from '../hash.js';
import { isSafeContentType } from '../http/media-headers.js';

/**
 * What an S3 object carries besides its bytes, so a HEAD alone rebuilds MediaMeta and can tell a
 * whole, verified entry from anything else under the key. User metadata (x-amz-meta-*) is stored and
 * returned by AWS S3, R2's S3 API and MinIO alike; the mime type is URI-encoded because metadata
 * values must be plain ASCII without surprises (`audio/ogg; codecs=opus` has a space and a semicolon).
 */
const SHA256 = 'x-amz-meta-sha256';
const SIZE = 'x-amz-meta-size';
const MIME = 'x-amz-meta-mime-type';

/** Headers for the PUT that stores `meta`'s bytes. */
export function metaHeaders(meta: MediaMeta): Record<string, string> {
  return {
    'content-type': meta.mimeType,
    [SHA256]: meta.sha256,
    [SIZE]: String(meta.size),
    [MIME]: encodeURIComponent(meta.mimeType),
  };
}

/**
 * MediaMeta from a HEAD (or GET) answer; undefined when anything is missing or disagrees: the object's
 * length must be the size recorded at write time, and the sha256 a hex digest.
 */
export function parseMetaHeaders(id: string, headers: Headers): MediaMeta | undefined {
  const sha256 = headers.get(SHA256) ?? '';
  const sizeRaw = headers.get(SIZE) ?? '';
  const mimeRaw = headers.get(MIME);
  const length = headers.get('content-length');
  if (!SHA256_HEX.test(sha256) || !/^\d{1,16}$/.test(sizeRaw) || mimeRaw === null || length !== sizeRaw) return undefined;
  let mimeType: string;
  try {
    mimeType = decodeURIComponent(mimeRaw);
  } catch {
    return undefined;
  }
  if (!isSafeContentType(mimeType)) return undefined;
  return { id, mimeType, sha256, size: Number(sizeRaw) };
}
