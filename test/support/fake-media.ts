/**
 * What the fake Graph + CDN (fake-whatsapp.ts) serves: a media item as the real Graph announces it,
 * deliberately wrong announcements included, and deterministic bytes to fill it with.
 */
import { createHash } from 'node:crypto';

export interface FakeMedia {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  /** Graph sends file_size as a number or a numeric string. */
  readonly fileSizeAsString?: boolean;
  /** Announce a different sha256 than the bytes have (integrity failure). */
  readonly announcedSha256?: string;
  /** Announce a different file_size than the bytes have. */
  readonly announcedSize?: number;
  /**
   * The business token whose account owns this media (default: the fake's own token). Like the real
   * Graph, another account's token gets error 100/33 for it, and the CDN refuses its download.
   */
  readonly owner?: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Deterministic pseudo-random bytes, so failures reproduce. */
export function makeBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
