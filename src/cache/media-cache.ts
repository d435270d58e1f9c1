/**
 * Verified media bytes, cached by media id (never by caller token: two callers share one entry, and
 * never by the expiring CDN URL). The cache is a list of tiers behind one small interface: the
 * per-process LRU first, then shared tiers (the Workers Cache API; a persistent store later). A hit in
 * a later tier is copied into the earlier ones.
 */
export interface MediaMeta {
  readonly id: string;
  /** Content-Type to serve: Graph's `mime_type`, sanitised. */
  readonly mimeType: string;
  /** Lower-case hex SHA-256 of the bytes, from Graph; the ETag derives from it. */
  readonly sha256: string;
  readonly size: number;
}

export interface CachedMedia extends MediaMeta {
  readonly body: Uint8Array<ArrayBuffer>;
}

/** Lets a tier finish a write after the response was sent (Workers' ctx.waitUntil; Node: fire and forget). */
export interface Background {
  waitUntil(promise: Promise<unknown>): void;
}

export interface MediaCacheTier {
  /** Short name for logs and metrics: "memory", "edge". */
  readonly name: string;
  get(id: string): Promise<CachedMedia | undefined> | CachedMedia | undefined;
  set(media: CachedMedia, background: Background): void;
}

export interface CacheHit {
  readonly media: CachedMedia;
  readonly tier: string;
}

export class MediaCache {
  constructor(readonly tiers: readonly MediaCacheTier[]) {}

  async get(id: string, background: Background): Promise<CacheHit | undefined> {
    for (let i = 0; i < this.tiers.length; i++) {
      const tier = this.tiers[i]!;
      const found = await tier.get(id);
      if (found === undefined) continue;
      for (let j = 0; j < i; j++) this.tiers[j]!.set(found, background);
      return { media: found, tier: tier.name };
    }
    return undefined;
  }

  /**
   * The first tier only: where a download that just finished in this process stored its entry. For
   * re-checks on the miss path, which must not pay a shared tier's round trip a second time.
   */
  async getNearest(id: string): Promise<CachedMedia | undefined> {
    return this.tiers[0]?.get(id);
  }

  set(media: CachedMedia, background: Background): void {
    for (const tier of this.tiers) tier.set(media, background);
  }
}

export const inlineBackground: Background = {
  waitUntil(promise) {
    promise.catch(() => {});
  },
};
