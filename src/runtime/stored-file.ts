import type { MediaMeta } from '../cache/media-tier.js';
import { SHA256_HEX } from '../hash.js';
import { isSafeContentType } from '../http/media-headers.js';

/**
 * The directory store's file format: the metadata and the bytes in one file, so one rename makes both
 * visible at once (nginx's cache files carry their header the same way).
 *
 *   "WMPS" | version (1 byte) | header length (uint32 BE) | header JSON | the media bytes
 */
const MAGIC = [0x57, 0x4d, 0x50, 0x53];
const VERSION = 1;
export const PREAMBLE_BYTES = 9;
/** More than any header we write; a larger one is not ours. */
export const MAX_HEADER_BYTES = 4096;


export interface StoredHeader {
  readonly account: string;
  readonly meta: MediaMeta;
  /** Offset of the first media byte. */
  readonly dataOffset: number;
}

export function encodeHeader(account: string, meta: MediaMeta): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ account, id: meta.id, mimeType: meta.mimeType, sha256: meta.sha256, size: meta.size }));
  const out = new Uint8Array(PREAMBLE_BYTES + json.byteLength);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer).setUint32(5, json.byteLength);
  out.set(json, PREAMBLE_BYTES);
  return out;
}

/**
 * Reads the header from a file's first bytes; undefined when they are not a header of ours for this
 * key, or when the file's length does not match the size it announces (a file cut short).
 */
export function decodeHeader(first: Uint8Array, fileBytes: number, expect: { readonly account: string; readonly id: string }): StoredHeader | undefined {
  if (first.byteLength < PREAMBLE_BYTES || MAGIC.some((b, i) => first[i] !== b) || first[4] !== VERSION) return undefined;
  const length = new DataView(first.buffer, first.byteOffset, first.byteLength).getUint32(5);
  if (length > MAX_HEADER_BYTES || first.byteLength < PREAMBLE_BYTES + length) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(first.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + length)));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const h = parsed as Record<string, unknown>;
  const dataOffset = PREAMBLE_BYTES + length;
  if (h.account !== expect.account || h.id !== expect.id) return undefined;
  if (typeof h.mimeType !== 'string' || !isSafeContentType(h.mimeType) || typeof h.sha256 !== 'string' || !SHA256_HEX.test(h.sha256)) return undefined;
  if (typeof h.size !== 'number' || !Number.isSafeInteger(h.size) || h.size < 0 || dataOffset + h.size !== fileBytes) return undefined;
  return { account: expect.account, meta: { id: expect.id, mimeType: h.mimeType, sha256: h.sha256, size: h.size }, dataOffset };
}
