import { describe, expect, it } from 'vitest';
import { MediaCache } from '../../src/cache/media-cache.js';
import { inlineBackground, type MediaKey, type MediaMeta, type MediaTier, type TierHit } from '../../src/cache/media-tier.js';
import { createMemoryTier } from '../../src/cache/memory-tier.js';

const key: MediaKey = { account: 'default', id: '42' };
const meta = (size: number): MediaMeta => ({ id: '42', mimeType: 'image/jpeg', sha256: '0'.repeat(64), size });

/** A store that records the chunks it is handed. */
function recordingStore(): MediaTier & { readonly chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  return {
    name: 'store',
    chunks,
    get: () => undefined,
    put: () => ({
      write: async (chunk) => void chunks.push(chunk),
      commit: async () => {},
      abort: async () => {},
    }),
    delete: async () => {},
  };
}

/** What SharedDownload does with each chunk: every writer, in tier order, in one pass. */
async function feed(cache: MediaCache, size: number, chunks: readonly Uint8Array[]): Promise<PromiseSettledResult<void>[]> {
  const writers = cache.writers(key, meta(size), inlineBackground);
  const outcomes: PromiseSettledResult<void>[] = [];
  for (const chunk of chunks) outcomes.push(...(await Promise.allSettled(writers.map((w) => w.write(chunk)))));
  await Promise.allSettled(writers.map((w) => w.commit()));
  return outcomes;
}

const chunksOf = (...sizes: number[]) => sizes.map((n, i) => new Uint8Array(n).fill(i + 1));

describe('MediaCache writers', () => {
  it('hand the store the memory tier’s copy of each chunk, so it writes from the pages a memory hit sends', async () => {
    const memory = createMemoryTier({ maxBytes: 10_000, maxItemBytes: 10_000 });
    const store = recordingStore();
    const chunks = chunksOf(300, 200);
    await feed(new MediaCache([memory, store]), 500, chunks);
    const held = (memory.get(key) as TierHit | undefined)?.bytes;
    expect(held?.byteLength).toBe(500);
    expect(store.chunks).toHaveLength(2);
    for (const [i, written] of store.chunks.entries()) {
      expect(written).not.toBe(chunks[i]);
      expect(written.buffer).toBe(held?.buffer);
      expect(written).toEqual(chunks[i]);
    }
    expect([store.chunks[0]?.byteOffset, store.chunks[1]?.byteOffset]).toEqual([0, 300]);
  });

  it('hand the store the download’s own chunks when the memory tier does not take the file', async () => {
    const memory = createMemoryTier({ maxBytes: 10_000, maxItemBytes: 100 });
    const store = recordingStore();
    const chunks = chunksOf(300, 200);
    await feed(new MediaCache([memory, store]), 500, chunks);
    expect(memory.get(key)).toBeUndefined();
    expect(store.chunks[0]).toBe(chunks[0]);
    expect(store.chunks[1]).toBe(chunks[1]);
  });

  it('hand the store the chunk itself once the memory tier refused one (more bytes than announced)', async () => {
    const memory = createMemoryTier({ maxBytes: 10_000, maxItemBytes: 10_000 });
    const store = recordingStore();
    const chunks = chunksOf(300, 300);
    const outcomes = await feed(new MediaCache([memory, store]), 500, chunks);
    // Memory took the first chunk and refused the second; the store was handed both, the second as it came.
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(store.chunks[0]).toEqual(chunks[0]);
    expect(store.chunks[1]).toBe(chunks[1]);
    expect(memory.get(key)).toBeUndefined();
  });
});
