import type { CacheHit, MediaCache } from '../cache/media-cache.js';
import { keyPath, type Background, type ByteRange, type MediaKey } from '../cache/media-tier.js';
import type { CreateSha256 } from '../hash.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { readBounded } from '../upstream/read-bounded.js';
import { guardBody } from './guard-body.js';

export interface CheckedReadDeps {
  readonly cache: MediaCache;
  readonly createSha256: CreateSha256;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface CheckedReader {
  /**
   * What a caller is sent from a tier's copy. A copy the tier vouches for is read as it is; an
   * unconfirmed one (TierHit.confirm) goes through the download's sha256 guard: a mismatch fails the
   * stream before its last byte and removes the copy. A range cannot be checked on its own, so the
   * whole file is checked first (one check shared by the ranges that arrive meanwhile: a player
   * seeking), and a mismatch rejects before anything is sent.
   */
  open(key: MediaKey, found: CacheHit, range: ByteRange | undefined, background: Background): Promise<ReadableStream<Uint8Array>>;
  /** The whole copy, its sha256 checked whatever the tier (a copy into memory); rejects on a mismatch. */
  read(key: MediaKey, found: CacheHit, background: Background): Promise<Uint8Array<ArrayBuffer>>;
}

/**
 * Reads of stored copies, checked against the sha256 they were stored under. Memory, the edge cache,
 * S3 and R2 took their bytes only after the download matched (S3 and R2 check the sha256 again
 * themselves), but a directory store's file can change on disk, or come from elsewhere (a restored
 * backup, another process): what failed verification is never served, from a tier either.
 */
export function createCheckedReader(deps: CheckedReadDeps): CheckedReader {
  /** Whole-file checks running for ranges, by tier and key. */
  const checking = new Map<string, Promise<void>>();

  async function whole(key: MediaKey, found: CacheHit, background: Background): Promise<ReadableStream<Uint8Array>> {
    const { hit, tier, index } = found;
    const body = await hit.open(undefined);
    const context = { mediaId: key.id, account: key.account, tier };
    return guardBody(
      { body, abort: () => {} },
      {
        expectedBytes: hit.meta.size,
        verify: { hasher: deps.createSha256(), expected: hit.meta.sha256 },
        from: `the ${tier} copy`,
        onIntegrityMismatch: () => {
          deps.metrics.integrityMismatch();
          deps.logger.error(context, 'stored copy did not match its sha256; removed, never served whole');
          background.waitUntil(deps.cache.tiers[index]?.delete(key, background) ?? Promise.resolve());
        },
        onSettled: (outcome, error) => {
          if (outcome === 'complete') hit.confirm?.();
          // Unreadable mid-file (an I/O error, a file cut short): not proof the copy is bad, kept.
          else if (error && error.code !== 'integrity_mismatch') deps.logger.warn({ ...context, code: error.code, detail: error.detail }, 'stored copy failed mid-read');
        },
      },
    );
  }

  return {
    async open(key, found, range, background) {
      const { hit } = found;
      if (hit.confirm === undefined) return hit.open(range);
      if (range === undefined || (range.start === 0 && range.end === hit.meta.size - 1)) return whole(key, found, background);
      const name = `${found.tier}:${keyPath(key)}`;
      let check = checking.get(name);
      if (check === undefined) {
        check = whole(key, found, background)
          .then(drain)
          .finally(() => checking.delete(name));
        checking.set(name, check);
      }
      await check;
      return hit.open(range);
    },
    async read(key, found, background) {
      return readBounded(await whole(key, found, background), found.hit.meta.size);
    },
  };
}

/** Reads a stream to its end, keeping nothing: a check of a file as large as MAX_MEDIA_BYTES. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}
