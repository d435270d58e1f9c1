import type { MediaCache } from '../cache/media-cache.js';
import { inlineBackground } from '../cache/media-tier.js';
import { ProxyError } from '../errors.js';
import type { AccountUpstream, MediaLoader } from '../media/media-loader.js';
import type { MediaIngestor } from './prefetch-job.js';

export interface TierIngestorDeps {
  readonly cache: MediaCache;
  readonly loader: MediaLoader;
  readonly account: (name: string) => AccountUpstream;
  /** MAX_MEDIA_BYTES: larger files are refused before any download, as for a viewer. */
  readonly maxMediaBytes: number;
  /** Whether a persistent store is among the tiers: then a job is done only once the store has it. */
  readonly hasStore: boolean;
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
      return (await deps.cache.get({ account, id })) !== undefined;
    },
    async ingest(account, id) {
      const key = { account, id };
      const media = await deps.account(account).resolver.resolveMedia(id);
      if (media.size > deps.maxMediaBytes) throw new ProxyError('media_too_large');
      const outcome = await deps.loader.fill(key, media, inlineBackground);
      // The download was verified, but the store failed to keep it: worth another attempt later.
      if (deps.hasStore && !outcome.committed.some((w) => w.tier === 'store')) {
        throw new ProxyError('upstream_unavailable', { detail: 'the store did not keep the media' });
      }
    },
  };
}
