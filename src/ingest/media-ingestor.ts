import type { MediaCache } from '../cache/media-cache.js';
import type { StoreTier } from '../cache/media-tier.js';
import { ProxyError } from '../errors.js';
import type { AccountUpstream, MediaLoader } from '../media/media-loader.js';
import type { MediaIngestor } from './prefetch-job.js';

export interface TierIngestorDeps {
  readonly cache: MediaCache;
  readonly loader: MediaLoader;
  readonly account: (name: string) => AccountUpstream;
  /** MAX_MEDIA_BYTES: larger files are refused before any download, as for a viewer. */
  readonly maxMediaBytes: number;
  /** The persistent store, when there is one: then a job is done only once the store has the file. */
  readonly store: StoreTier | undefined;
}

/**
 * Prefetch jobs through the same mechanism as a viewer's miss: the id is resolved with its account's
 * token and downloaded once into every tier that takes it (the store; memory for a small file). A
 * viewer asking meanwhile joins that download. Where the media goes is the tiers' business: with a
 * store every file is kept, without one only what fits in memory.
 */
export function createTierIngestor(deps: TierIngestorDeps): MediaIngestor {
  return {
    async isStored(account, id) {
      deps.account(account);
      // With a store, only the store counts: a copy in memory (or the edge cache) does not outlive
      // a restart, and the job is there to make the media outlive Meta.
      const key = { account, id };
      return (await (deps.store ? deps.store.get(key) : deps.cache.get(key))) !== undefined;
    },
    async ingest(account, id) {
      const key = { account, id };
      const media = await deps.account(account).resolver.resolveMedia(id);
      if (media.size > deps.maxMediaBytes) throw new ProxyError('media_too_large');
      // The tiers' writes that usually outlive a response (the edge cache's put) are awaited here:
      // "ingested" means kept, and a Queues consumer's pending work may end with its handler.
      const writes: Promise<unknown>[] = [];
      const outcome = await deps.loader.fill(key, media, { waitUntil: (write) => void writes.push(write.catch(() => {})) });
      await Promise.all(writes);
      // The download was verified, but the store failed to keep it: worth another attempt later.
      if (deps.store !== undefined && !outcome.committed.some((w) => w.tier === 'store')) {
        throw new ProxyError('upstream_unavailable', { detail: 'the store did not keep the media' });
      }
    },
  };
}
