/** The copy of a later tier's hit into memory: its check on the way, and one copy per burst. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MediaCache } from '../../src/cache/media-cache.js';
import { inlineBackground, type MediaKey, type MediaMeta, type MediaTier } from '../../src/cache/media-tier.js';
import { createMemoryTier } from '../../src/cache/memory-tier.js';
import { silentLogger } from '../../src/logger.js';
import { createCheckedReader } from '../../src/media/checked-read.js';
import { createPromoter } from '../../src/media/promote-hit.js';
import { noopMetrics } from '../../src/metrics.js';
import { createNodeSha256 } from '../../src/runtime/node-sha256.js';

describe('copying a store hit into memory', () => {
  const meta: MediaMeta = { id: '650000000000009', mimeType: 'image/jpeg', sha256: 'a'.repeat(64), size: 4 };

  /** A store tier whose single entry reads as `read` does; it records deletions. */
  function storeTier(read: () => Promise<ReadableStream<Uint8Array>>) {
    const deleted: MediaKey[] = [];
    const tier: MediaTier = { name: 'store', get: () => ({ meta, open: read }), put: () => undefined, delete: async (k) => void deleted.push(k) };
    return { tier, deleted };
  }

  /** The copy into memory over `store`, with the checks it reads through. */
  function promoterOver(store: MediaTier) {
    const memory = createMemoryTier({ maxBytes: 1000, maxItemBytes: 1000 });
    const cache = new MediaCache([memory, store]);
    const checked = createCheckedReader({ cache, createSha256: createNodeSha256, metrics: noopMetrics, logger: silentLogger });
    return { promote: createPromoter({ cache, checked, logger: silentLogger }), cache, memory };
  }

  const key = { account: 'default', id: meta.id };

  it('keeps a stored entry it could not read just now (an I/O error is not corruption)', async () => {
    const { tier, deleted } = storeTier(() => Promise.reject(Object.assign(new Error('too many open files'), { code: 'EMFILE' })));
    const { promote, cache, memory } = promoterOver(tier);
    expect(await promote(key, (await cache.get(key))!, inlineBackground)).toBeUndefined();
    expect(deleted).toEqual([]);
    expect(memory.entries).toBe(0);
  });

  it('removes a stored entry whose bytes do not match their sha256, and keeps nothing in memory', async () => {
    const { tier, deleted } = storeTier(async () => new Response(new Uint8Array([1, 2, 3, 4])).body!);
    const { promote, cache, memory } = promoterOver(tier);
    expect(await promote(key, (await cache.get(key))!, inlineBackground)).toBe('corrupt');
    expect(deleted).toEqual([key]);
    expect(memory.entries).toBe(0);
  });

  it('copies a file once when a burst of store hits asks for it at the same time, and answers each with its bytes', async () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const exact: MediaMeta = { ...meta, sha256: createHash('sha256').update(bytes).digest('hex') };
    let opens = 0;
    const tier: MediaTier = { name: 'store', get: () => ({ meta: exact, open: async () => (opens++, new Response(bytes).body!) }), put: () => undefined, delete: async () => {} };
    const { promote, cache, memory } = promoterOver(tier);
    const found = (await cache.get(key))!;
    const outcomes = await Promise.all([promote(key, found, inlineBackground), promote(key, found, inlineBackground), promote(key, found, inlineBackground)]);
    expect(opens).toBe(1);
    for (const outcome of outcomes) expect(outcome).toEqual({ bytes });
    expect(memory.entries).toBe(1);
  });
});
