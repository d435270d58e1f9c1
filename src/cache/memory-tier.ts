import { LRUCache } from 'lru-cache';
import { bytesHit, keyPath, type MediaTier, type TierHit, type TierWriter } from './media-tier.js';

/** A held file: its metadata and its bytes, answered by slicing. */
type Held = TierHit & { readonly bytes: Uint8Array<ArrayBuffer> };

export interface MemoryTierOptions {
  /** Total bytes held (CACHE_MAX_BYTES). */
  readonly maxBytes: number;
  /** Largest single file kept (CACHE_MAX_ITEM_BYTES); larger ones are never held. */
  readonly maxItemBytes: number;
  /** Called when an entry is pushed out to make room (metrics). */
  readonly onEvict?: () => void;
}

export interface MemoryTier extends MediaTier {
  readonly bytes: number;
  readonly entries: number;
}

/**
 * The per-process tier: lru-cache bounded by bytes, sized by each body's length. The tier that holds
 * bytes: its writer copies the chunks into one buffer of the announced size, and the entry appears
 * only on commit, after the download matched Graph's sha256.
 */
export function createMemoryTier(options: MemoryTierOptions): MemoryTier {
  const { maxBytes, maxItemBytes, onEvict } = options;
  if (maxBytes === 0 || maxItemBytes === 0) {
    // lru-cache refuses maxSize 0; a zero budget means "cache nothing".
    return { name: 'memory', bytes: 0, entries: 0, get: () => undefined, put: () => undefined, delete: async () => {} };
  }
  const lru = new LRUCache<string, Held>({
    maxSize: maxBytes,
    maxEntrySize: maxItemBytes,
    // lru-cache requires sizes > 0; an empty file still costs an entry.
    sizeCalculation: (entry) => Math.max(1, entry.bytes.byteLength),
    ...(onEvict ? { dispose: (_entry: Held, _key: string, reason: LRUCache.DisposeReason) => reason === 'evict' && onEvict() } : {}),
  });
  return {
    name: 'memory',
    get bytes() {
      return lru.calculatedSize;
    },
    get entries() {
      return lru.size;
    },
    get: (key) => lru.get(keyPath(key)),
    put(key, meta): TierWriter | undefined {
      if (meta.size > maxItemBytes) return undefined;
      // Allocated at the first byte, not here: the writer is made before the download's answer is
      // sent, and zeroing a file-sized buffer (0.1-0.5 ms per 2 MiB on the benchmark's VM) would
      // delay it.
      let buffer: Uint8Array<ArrayBuffer> | undefined;
      let filled = 0;
      const keep = (chunk: Uint8Array): Uint8Array => {
        buffer ??= new Uint8Array(meta.size);
        if (filled + chunk.byteLength > buffer.byteLength) throw new RangeError('more bytes than announced');
        buffer.set(chunk, filled);
        filled += chunk.byteLength;
        return buffer.subarray(filled - chunk.byteLength, filled);
      };
      return {
        write(chunk) {
          try {
            keep(chunk);
            return Promise.resolve();
          } catch (error) {
            return Promise.reject(error);
          }
        },
        keep,
        commit() {
          if (filled !== meta.size) return Promise.reject(new RangeError(`${filled} of ${meta.size} bytes`));
          lru.set(keyPath(key), bytesHit(meta, buffer ?? new Uint8Array(0)));
          return Promise.resolve();
        },
        abort: () => Promise.resolve(),
      };
    },
    delete(key) {
      lru.delete(keyPath(key));
      return Promise.resolve();
    },
  };
}
