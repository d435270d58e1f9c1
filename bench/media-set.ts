/** The media the benchmark serves: the same deterministic bytes in the fake, the baseline and the checks. */
import { createHash } from 'node:crypto';
import type { MediaMeta } from '../src/cache/media-tier.js';
import { makeBytes } from '../test/support/fake-whatsapp.js';

export interface BenchMedia {
  readonly meta: MediaMeta;
  readonly bytes: Uint8Array;
}

function media(id: string, size: number, mimeType: string, seed: number): BenchMedia {
  const bytes = makeBytes(size, seed);
  return { bytes, meta: { id, mimeType, size, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

/** A chat-grid image: cached after its first request. */
export const HIT_IMAGE = media('100000000000001', 200 * 1024, 'image/jpeg', 1);
/** Above CACHE_MAX_ITEM_BYTES (8 MiB): always streamed. */
export const STREAM_ID = '100000000000002';
export const STREAM_BYTES = 20 * 1024 * 1024;
/** Read by 24 slow readers at once. */
export const SLOW_ID = '100000000000003';
export const SLOW_BYTES = 12 * 1024 * 1024;
/** Ids never requested before, one per cold-miss sample. */
export const COLD_BYTES = 64 * 1024;
/** Cold misses measured per side (proxy and direct), alternating. */
export const COLD_SAMPLES = 30;
/** Ids the fake holds for cold misses: a fresh one per request, for up to 4 ways of fetching. */
export const COLD_IDS = 4 * COLD_SAMPLES;
export const coldId = (n: number) => String(200000000000000 + n);

export function streamMedia(): BenchMedia {
  return media(STREAM_ID, STREAM_BYTES, 'video/mp4', 2);
}
export function slowMedia(): BenchMedia {
  return media(SLOW_ID, SLOW_BYTES, 'video/mp4', 3);
}
export function coldMedia(n: number): BenchMedia {
  return media(coldId(n), COLD_BYTES, 'image/jpeg', 100 + n);
}
