import { describe, expect, it } from 'vitest';
import { MediaCache, inlineBackground, type CachedMedia } from '../../src/cache/media-cache.js';
import { createMemoryTier } from '../../src/cache/memory-tier.js';
import { loadConfig } from '../../src/config.js';
import type { MediaResolver, ResolvedMedia } from '../../src/graph/resolve-media.js';
import { silentLogger } from '../../src/logger.js';
import { createMediaLoader } from '../../src/media/media-loader.js';
import { createNodeSha256 } from '../../src/runtime/node-sha256.js';
import { ManualClock } from '../support/proxy-harness.js';

describe('media loader', () => {
  it('serves from the cache instead of downloading when the entry arrived after the caller missed it', async () => {
    const config = loadConfig({ WHATSAPP_TOKEN: 'business-token', JWT_SECRET: 's'.repeat(32), MEDIA_HOSTS: 'cdn.example' });
    const memory = createMemoryTier({ maxBytes: 1000, maxItemBytes: 1000 });
    const cache = new MediaCache([memory]);
    const fetched: string[] = [];
    const resolver: MediaResolver = { resolveMedia: () => Promise.reject(new Error('no lookup expected')) };
    const loader = createMediaLoader({
      config,
      fetch: async (input) => {
        fetched.push(String(input));
        throw new Error('no download expected');
      },
      userAgent: 'test',
      resolver,
      cache,
      createSha256: createNodeSha256,
      clock: new ManualClock(),
      logger: silentLogger,
    });
    const media: ResolvedMedia = { id: '42', url: 'https://cdn.example/x', mimeType: 'image/png', sha256: 'a'.repeat(64), size: 3 };
    // Another caller's download finished and stored the entry after this caller's cache miss.
    const stored: CachedMedia = { id: '42', mimeType: 'image/png', sha256: 'a'.repeat(64), size: 3, body: new Uint8Array([1, 2, 3]) };
    memory.set(stored, inlineBackground);
    expect(await loader.loadIntoMemory(media, inlineBackground)).toBe(stored);
    expect(fetched).toEqual([]);
  });
});
