import type { MediaMeta } from '../cache/media-tier.js';

/**
 * Response headers, decided here and nowhere else. Upstream headers are never passed through: every
 * header a caller sees is one this module chose.
 */

/** On every response, errors and /healthz included. */
export const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  // A `?token=` URL must not leak through the Referer of anything the media links to.
  'referrer-policy': 'no-referrer',
});

const TOKEN = /^[a-z0-9!#$&^_.+-]{1,127}\/[a-z0-9!#$&^_.+-]{1,127}$/;

/**
 * Graph's `mime_type` is data from upstream. Keep `type/subtype` (and a codecs parameter, which audio
 * like `audio/ogg; codecs=opus` carries), anything else becomes application/octet-stream.
 */
export function safeContentType(mime: string): string {
  const [essence = '', ...params] = mime.split(';');
  const type = essence.trim().toLowerCase();
  if (!TOKEN.test(type)) return 'application/octet-stream';
  const codecs = params.map((p) => p.trim()).find((p) => /^codecs="?[a-z0-9., +-]{1,64}"?$/i.test(p));
  return codecs ? `${type}; ${codecs}` : type;
}

/**
 * A Content-Type this proxy could have written: what safeContentType leaves as it is. Every store
 * checks the type it reads back with this, so a copy written by anything else (a tampered header, a
 * store copied in) is a miss rather than a header it would send as found.
 */
export function isSafeContentType(mime: string): boolean {
  return mime !== '' && safeContentType(mime) === mime;
}

/**
 * Types a browser shows inline without running anything. Everything else (text/html, image/svg+xml,
 * xml, xhtml, office documents, unknown types) is sent as an attachment so that a document a customer
 * sent cannot execute on the proxy's origin.
 */
export function isPassiveType(contentType: string): boolean {
  const essence = contentType.split(';', 1)[0] ?? '';
  if (essence === 'image/svg+xml') return false;
  return (
    essence.startsWith('image/') ||
    essence.startsWith('audio/') ||
    essence.startsWith('video/') ||
    essence === 'application/pdf' ||
    essence === 'text/plain'
  );
}

/**
 * One policy for every media type. `sandbox` gives a document opened directly an opaque origin with
 * no script, so it cannot reach the proxy's origin (cookies, storage, other media URLs); `default-src
 * 'none'` stops it loading anything. Neither affects <img>/<video>/<audio> embedding, which ignores
 * the media's own CSP. PDFs get the same policy: checked in Chromium 156 (top-level navigation and a
 * cross-origin <iframe>), its PDF viewer renders a PDF served with this CSP exactly as one without
 * (see README, "Security model"). The older `plugin-types` directive is gone from browsers.
 */
export const MEDIA_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox";

const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/ogg': 'ogg',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'text/html': 'html',
  'image/svg+xml': 'svg',
  'application/zip': 'zip',
  'application/msword': 'doc',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
};

/** `1234567890.jpg`: the id is digits only, so the name needs no quoting beyond the plain form. */
export function downloadFilename(meta: Pick<MediaMeta, 'id' | 'mimeType'>): string {
  const essence = meta.mimeType.split(';', 1)[0] ?? '';
  const ext = EXTENSIONS[essence];
  return ext ? `${meta.id}.${ext}` : `${meta.id}.bin`;
}

export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}

export interface MediaHeaderOptions {
  readonly maxAge: number;
  readonly download: boolean;
}

/**
 * The headers of a full 200 answer for `meta`. Range and HEAD answers derive from it. Computed once
 * per cache entry (see media-responder) so a cache hit does no string building.
 */
export function mediaHeaders(meta: MediaMeta, options: MediaHeaderOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': meta.mimeType,
    'content-length': String(meta.size),
    etag: etagOf(meta.sha256),
    'accept-ranges': 'bytes',
    // The bytes behind a media id never change (a new file gets a new id), hence immutable.
    // no-transform: the bytes are sha256-verified and ranges index them; no intermediary may
    // recompress them (Cloudflare keeps the origin's Content-Length only with no-transform).
    'cache-control': `private, max-age=${options.maxAge}, immutable, no-transform`,
    'content-security-policy': MEDIA_CONTENT_SECURITY_POLICY,
    'cross-origin-resource-policy': 'cross-origin',
    ...BASE_HEADERS,
  };
  if (options.download || !isPassiveType(meta.mimeType)) {
    headers['content-disposition'] = `attachment; filename="${downloadFilename(meta)}"`;
  }
  return headers;
}
