import { describe, expect, it } from 'vitest';
import { MediaCache } from '../../src/cache/media-cache.js';
import { bytesHit, inlineBackground, type MediaKey, type MediaMeta, type MediaTier, type TierHit } from '../../src/cache/media-tier.js';
import { createMemoryTier, type MemoryTier } from '../../src/cache/memory-tier.js';

const key = (id: string): MediaKey => ({ account: 'default', id });
const meta = (id: string, size: number): MediaMeta => ({ id, mimeType: 'image/jpeg', sha256: '0'.repeat(64), size });

async function store(tier: MediaTier, id: string, size: number, { commit = true } = {}): Promise<void> {
  const writer = tier.put(key(id), meta(id, size), inlineBackground);
  if (!writer) return;
  await writer.write(new Uint8Array(size).fill(7));
  if (commit) await writer.commit();
  else await writer.abort();
}

const held = (tier: MemoryTier, id: string) => tier.get(key(id)) as TierHit | undefined;

describe('memory tier', () => {
  it('holds entries up to CACHE_MAX_BYTES in total, evicting the least recently used', async () => {
    let evictions = 0;
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400, onEvict: () => evictions++ });
    await store(tier, '1', 400);
    await store(tier, '2', 400);
    held(tier, '1'); // 1 is now more recent than 2
    await store(tier, '3', 400);
    expect(evictions).toBe(1);
    expect(held(tier, '2')).toBeUndefined();
    expect(held(tier, '1')?.bytes?.byteLength).toBe(400);
    expect(tier.bytes).toBe(800);
    expect(tier.entries).toBe(2);
  });

  it('never takes a file larger than CACHE_MAX_ITEM_BYTES', () => {
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400 });
    expect(tier.put(key('big'), meta('big', 401), inlineBackground)).toBeUndefined();
    expect(tier.bytes).toBe(0);
  });

  it('makes nothing readable before commit, and nothing at all after an abort or a short body', async () => {
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400 });
    const writer = tier.put(key('1'), meta('1', 10), inlineBackground)!;
    await writer.write(new Uint8Array(5));
    expect(held(tier, '1')).toBeUndefined();
    await expect(writer.commit()).rejects.toThrow('5 of 10 bytes');
    expect(held(tier, '1')).toBeUndefined();
    await store(tier, '2', 10, { commit: false });
    expect(held(tier, '2')).toBeUndefined();
    await expect(tier.put(key('3'), meta('3', 2), inlineBackground)!.write(new Uint8Array(3))).rejects.toThrow('more bytes');
  });

  it('holds an empty file committed without a single write', async () => {
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400 });
    await tier.put(key('0'), meta('0', 0), inlineBackground)!.commit();
    expect(held(tier, '0')?.bytes?.byteLength).toBe(0);
  });

  it('answers a range from its bytes, and forgets an entry on delete', async () => {
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400 });
    await store(tier, '1', 10);
    const stream = await held(tier, '1')!.open({ start: 2, end: 4 });
    expect((await new Response(stream).arrayBuffer()).byteLength).toBe(3);
    await tier.delete(key('1'), inlineBackground);
    expect(held(tier, '1')).toBeUndefined();
  });

  it('caches nothing with a zero budget', () => {
    const tier = createMemoryTier({ maxBytes: 0, maxItemBytes: 0 });
    expect(tier.put(key('1'), meta('1', 1), inlineBackground)).toBeUndefined();
    expect(tier.get(key('1'))).toBeUndefined();
  });

  it('keys by account too: the same id of two accounts is two entries', async () => {
    const tier = createMemoryTier({ maxBytes: 1000, maxItemBytes: 400 });
    await store(tier, '1', 10);
    expect(tier.get({ account: 'acme', id: '1' })).toBeUndefined();
  });
});

describe('MediaCache tiers', () => {
  it('reads the tiers in order and says which one answered', async () => {
    const memory = createMemoryTier({ maxBytes: 1000, maxItemBytes: 1000 });
    const shared = new Map<string, TierHit>([['default/7', bytesHit(meta('7', 10), new Uint8Array(10))]]);
    const edge: MediaTier = { name: 'edge', get: async (k) => shared.get(`${k.account}/${k.id}`), put: () => undefined, delete: async () => {} };
    const cache = new MediaCache([memory, edge]);
    expect(await cache.get(key('7'))).toMatchObject({ tier: 'edge', index: 1 });
    expect(await cache.get(key('8'))).toBeUndefined();
    // Writers come from every tier that takes the file, and only from the tiers before `below`.
    expect(cache.writers(key('9'), meta('9', 10), inlineBackground).map((w) => w.tier)).toEqual(['memory']);
    expect(cache.writers(key('9'), meta('9', 10), inlineBackground, 0)).toEqual([]);
  });
});
