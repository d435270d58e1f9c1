import { describe, expect, it } from 'vitest';
import { MediaCache, inlineBackground, type CachedMedia, type MediaCacheTier } from '../../src/cache/media-cache.js';
import { createMemoryTier } from '../../src/cache/memory-tier.js';

function media(id: string, size: number): CachedMedia {
  return { id, mimeType: 'image/jpeg', sha256: '0'.repeat(64), size, body: new Uint8Array(size) };
}

describe('memory tier', () => {
  it('holds entries up to CACHE_MAX_BYTES in total, evicting the least recently used', () => {
    const evicted: string[] = [];
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400, onEvict: (m) => evicted.push(m.id) });
    tier.set(media('1', 400), inlineBackground);
    tier.set(media('2', 400), inlineBackground);
    tier.get('1'); // 1 is now more recent than 2
    tier.set(media('3', 400), inlineBackground);
    expect(evicted).toEqual(['2']);
    expect(tier.get('2')).toBeUndefined();
    expect(tier.bytes).toBe(800);
    expect(tier.entries).toBe(2);
  });

  it('never keeps a file larger than CACHE_MAX_ITEM_BYTES', () => {
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400 });
    tier.set(media('big', 401), inlineBackground);
    expect(tier.get('big')).toBeUndefined();
    expect(tier.bytes).toBe(0);
  });

  it('caches nothing with a zero budget', () => {
    const tier = createMemoryTier({ maxBytes: 0, maxItemBytes: 0 });
    tier.set(media('1', 1), inlineBackground);
    expect(tier.get('1')).toBeUndefined();
  });
});

describe('MediaCache tiers', () => {
  it('copies a hit in a later tier into the earlier ones', async () => {
    const memory = createMemoryTier({ maxBytes: 1000, maxItemBytes: 1000 });
    const shared = new Map<string, CachedMedia>([['7', media('7', 10)]]);
    const edge: MediaCacheTier = { name: 'edge', get: async (id) => shared.get(id), set: (m) => void shared.set(m.id, m) };
    const cache = new MediaCache([memory, edge]);
    expect((await cache.get('7', inlineBackground))?.tier).toBe('edge');
    expect((await cache.get('7', inlineBackground))?.tier).toBe('memory');
    expect(await cache.get('8', inlineBackground)).toBeUndefined();
  });
});
