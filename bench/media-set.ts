/** The media the benchmark serves: the same deterministic bytes in the fake, the baselines and the checks. */
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
/** Above CACHE_MAX_ITEM_BYTES (8 MiB): always streamed, and never held by the memory tier. */
export const STREAM_ID = '100000000000002';
export const STREAM_BYTES = 20 * 1024 * 1024;
/** Read by 24 slow readers at once. */
export const SLOW_ID = '100000000000003';
export const SLOW_BYTES = 12 * 1024 * 1024;

/** A family of ids never requested before, one per sample: `count` files of `bytes` each. */
export interface ColdSet {
  readonly name: string;
  readonly bytes: number;
  readonly count: number;
  id(n: number): string;
}
function coldSet(name: string, base: number, bytes: number, count: number): ColdSet {
  return { name, bytes, count, id: (n) => String(base + n) };
}
/** Cold misses on loopback: 64 KiB, a fresh id per request, for 3 ways of fetching × 30 samples. */
export const COLD = coldSet('64 KiB', 200000000000000, 64 * 1024, 3 * 30);
/** Cold misses over the realistic upstream: a 2 MiB photo, 3 ways × 10 samples. */
export const PHOTO = coldSet('2 MiB photo', 300000000000000, 2 * 1024 * 1024, 3 * 10);
/** First hits after a restart (from the store), next to memory hits. */
export const RESTART_SMALL = coldSet('200 KiB', 400000000000000, 200 * 1024, 8);
export const RESTART_PHOTO = coldSet('2 MiB photo', 500000000000000, 2 * 1024 * 1024, 8);
/** Delivered through the signed webhook, then viewed. */
export const INGEST_PHOTO = coldSet('2 MiB photo', 600000000000000, 2 * 1024 * 1024, 8);

export function streamMedia(): BenchMedia {
  return media(STREAM_ID, STREAM_BYTES, 'video/mp4', 2);
}

/** One 20 MiB file per stream client: four callers of four ids, so no download is shared. */
export const DISTINCT_STREAM_IDS = ['100000000000010', '100000000000011', '100000000000012', '100000000000013'] as const;

/** Everything the fake holds; `coldIds` overrides how many 64 KiB cold ids (bench:profile cold). */
export function* benchMediaSet(options: { coldIds?: number | undefined } = {}): Generator<BenchMedia> {
  yield HIT_IMAGE;
  yield streamMedia();
  for (const [n, id] of DISTINCT_STREAM_IDS.entries()) yield media(id, STREAM_BYTES, 'video/mp4', 10 + n);
  yield media(SLOW_ID, SLOW_BYTES, 'video/mp4', 3);
  const sets: ColdSet[] = [{ ...COLD, count: options.coldIds ?? COLD.count }, PHOTO, RESTART_SMALL, RESTART_PHOTO, INGEST_PHOTO];
  let seed = 100;
  for (const set of sets) for (let n = 0; n < set.count; n++) yield media(set.id(n), set.bytes, 'image/jpeg', seed++);
}
