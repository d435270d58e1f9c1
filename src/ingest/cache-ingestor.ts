import { inlineBackground, type MediaCache } from '../cache/media-cache.js';
import { DEFAULT_ACCOUNT } from '../cache/media-tier.js';
import { ProxyError } from '../errors.js';
import type { MediaResolver } from '../graph/resolve-media.js';
import type { MediaLoader } from '../media/media-loader.js';
import type { MediaIngestor } from './prefetch-job.js';

export interface CacheIngestorDeps {
  readonly cache: MediaCache;
  readonly resolver: MediaResolver;
  readonly loader: MediaLoader;
  /** CACHE_MAX_ITEM_BYTES: larger files are not kept in memory. */
  readonly maxItemBytes: number;
}

/**
 * The ingestor without a persistent store: a small file is resolved, downloaded, verified and put in
 * the cache tiers (memory, and the edge cache on Workers) exactly as a viewer's miss would; a file
 * too large for memory is only resolved, as there is nowhere to keep it. The store (issue 11)
 * replaces this with one that keeps every file.
 */
export function createCacheIngestor(deps: CacheIngestorDeps): MediaIngestor {
  function defaultOnly(account: string): void {
    // Before issue 13 every download uses the default account's token: another account's job must
    // not be fetched (and cached for everyone) with it.
    if (account !== DEFAULT_ACCOUNT) throw new ProxyError('upstream_forbidden', { detail: 'only the default account is served' });
  }
  return {
    async isStored(account, id) {
      defaultOnly(account);
      return (await deps.cache.get(id, inlineBackground)) !== undefined;
    },
    async ingest(account, id) {
      defaultOnly(account);
      const media = await deps.resolver.resolveMedia(id);
      if (media.size > deps.maxItemBytes) return;
      // The tiers' writes that usually outlive a response (the edge cache's put) are awaited here:
      // "ingested" means kept, and a Queues consumer's pending work may end with its handler.
      const writes: Promise<unknown>[] = [];
      await deps.loader.loadIntoMemory(media, { waitUntil: (write) => void writes.push(write.catch(() => {})) });
      await Promise.all(writes);
    },
  };
}
