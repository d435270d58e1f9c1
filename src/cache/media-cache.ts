import type { Background, MediaKey, MediaMeta, MediaTier, TierHit, TierWriter } from './media-tier.js';

/** A tier's writer, named by its tier (for logs and the store metrics). */
export interface TierCopy extends TierWriter {
  readonly tier: string;
}

export interface CacheHit {
  readonly hit: TierHit;
  /** Which tier answered, for logs and metrics: "memory", "edge", "store". */
  readonly tier: string;
  /** Its place in the read order; the tiers before it missed. */
  readonly index: number;
}

/**
 * The tiers in read order: memory, then the edge cache (Workers), then the store. Verified media
 * bytes are keyed by account and media id, never by caller token (two callers share one entry) and
 * never by the expiring CDN URL.
 */
export class MediaCache {
  constructor(readonly tiers: readonly MediaTier[]) {}

  async get(key: MediaKey): Promise<CacheHit | undefined> {
    for (let index = 0; index < this.tiers.length; index++) {
      const tier = this.tiers[index]!;
      const hit = await tier.get(key);
      if (hit !== undefined) return { hit, tier: tier.name, index };
    }
    return undefined;
  }

  /**
   * A writer on every tier (before `below`, when given) that takes this file, in read order. Once a
   * tier that keeps the bytes in memory has taken a chunk, the tiers after it write from its copy
   * rather than from the chunk: the store's write(2) then reads the very pages a memory hit will send.
   * On the benchmark's VM the kernel's first read of pages the process has just written costs 1-3 ms
   * per 2 MiB (bench/fresh-buffer-server.ts measures it), and this moves it from the first view to
   * the store's write; elsewhere it costs nothing, the bytes copied are the same.
   */
  writers(key: MediaKey, meta: MediaMeta, background: Background, below = this.tiers.length): TierCopy[] {
    const copies: TierCopy[] = [];
    // The last chunk the keeping tier took, and its copy. Chunks are compared by identity, so a
    // writer called with another chunk (or before the keeper) just writes what it was given.
    let kept: { readonly chunk: Uint8Array; readonly copy: Uint8Array } | undefined;
    let keeperFound = false;
    for (const tier of this.tiers.slice(0, below)) {
      const writer = tier.put(key, meta, background);
      if (writer === undefined) continue;
      const keep = keeperFound ? undefined : writer.keep?.bind(writer);
      let write = (chunk: Uint8Array) => writer.write(kept?.chunk === chunk ? kept.copy : chunk);
      if (keep !== undefined) {
        keeperFound = true;
        write = (chunk) => {
          try {
            kept = { chunk, copy: keep(chunk) };
            return Promise.resolve();
          } catch (error) {
            kept = undefined;
            return Promise.reject(error);
          }
        };
      }
      copies.push({ tier: tier.name, write, commit: () => writer.commit(), abort: (reason) => writer.abort(reason) });
    }
    return copies;
  }

  /** Erasure: every tier, also those that fail (each failure is reported). */
  async delete(key: MediaKey, background: Background): Promise<void> {
    const outcomes = await Promise.allSettled(this.tiers.map((tier) => tier.delete(key, background)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
