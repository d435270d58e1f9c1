import { LRUCache } from 'lru-cache';
import type { CachedMedia, MediaCacheTier } from './media-cache.js';

export interface MemoryTierOptions {
  /** Total bytes held (CACHE_MAX_BYTES). */
  readonly maxBytes: number;
  /** Largest single file kept (CACHE_MAX_ITEM_BYTES); larger ones are streamed, never held. */
  readonly maxItemBytes: number;
  /** Called when an entry is pushed out to make room (metrics). */
  readonly onEvict?: (media: CachedMedia) => void;
}

export interface MemoryTier extends MediaCacheTier {
  readonly bytes: number;
  readonly entries: number;
}

/** The per-process tier: lru-cache bounded by bytes, sized by each body's length. */
export function createMemoryTier(options: MemoryTierOptions): MemoryTier {
  const { maxBytes, maxItemBytes, onEvict } = options;
  if (maxBytes === 0 || maxItemBytes === 0) {
    // lru-cache refuses maxSize 0; a zero budget means "cache nothing".
    return { name: 'memory', bytes: 0, entries: 0, get: () => undefined, set: () => {} };
  }
  const lru = new LRUCache<string, CachedMedia>({
    maxSize: maxBytes,
    maxEntrySize: maxItemBytes,
    // lru-cache requires sizes > 0; an empty file still costs an entry.
    sizeCalculation: (media) => Math.max(1, media.body.byteLength),
    ...(onEvict ? { dispose: (media: CachedMedia, _id: string, reason: LRUCache.DisposeReason) => reason === 'evict' && onEvict(media) } : {}),
  });
  return {
    name: 'memory',
    get bytes() {
      return lru.calculatedSize;
    },
    get entries() {
      return lru.size;
    },
    get: (id) => lru.get(id),
    set: (media) => {
      if (media.body.byteLength <= maxItemBytes) lru.set(media.id, media);
    },
  };
}
