import type { CacheHit, MediaCache } from '../cache/media-cache.js';
import { keyPath, type Background, type MediaKey } from '../cache/media-tier.js';
import { ProxyError } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import type { CheckedReader } from './checked-read.js';

/**
 * What promote did: copied the file (its checked bytes), found the copy corrupt (removed), or nothing
 * (no earlier tier takes it, a copy is already being taken, or it is unreadable just now).
 */
export type Promotion = { readonly bytes: Uint8Array<ArrayBuffer> } | 'corrupt' | undefined;

export interface PromoteDeps {
  readonly cache: MediaCache;
  readonly checked: CheckedReader;
  readonly logger: Logger;
}

/**
 * MediaLoader.promote: a hit in a later tier copied into the earlier ones that take it (a small file
 * found in the store goes to memory), its sha256 checked on the way (CheckedReader.read). A burst of
 * hits on one file copies and checks it once, and every hit of the burst that awaits the copy gets
 * its outcome.
 */
export function createPromoter(deps: PromoteDeps): (key: MediaKey, found: CacheHit, background: Background) => Promise<Promotion> {
  const promoting = new Map<string, Promise<Promotion>>();

  async function copyIntoEarlierTiers(key: MediaKey, found: CacheHit, background: Background): Promise<Promotion> {
    const { hit } = found;
    const writers = deps.cache.writers(key, hit.meta, background, found.index);
    if (writers.length === 0) return undefined;
    let bytes = hit.bytes;
    if (bytes === undefined) {
      try {
        bytes = await deps.checked.read(key, found, background);
      } catch (error) {
        await Promise.all(writers.map((w) => w.abort(error)));
        // A mismatch was logged and the copy removed by the check. Anything else (vanished, out of
        // file handles, an I/O error) is not a reason to remove what may be a good copy; the caller
        // is answered all the same (from the store as it streams, or from upstream).
        if (error instanceof ProxyError && error.code === 'integrity_mismatch') return 'corrupt';
        deps.logger.warn({ mediaId: key.id, account: key.account, tier: found.tier, error: describeError(error) }, 'stored entry could not be copied into memory');
        return undefined;
      }
    }
    const whole = bytes;
    await Promise.all(writers.map((w) => w.write(whole).then(() => w.commit()).catch(() => w.abort())));
    return { bytes: whole };
  }

  return (key, found, background) => {
    const path = keyPath(key);
    const underWay = promoting.get(path);
    if (underWay) return underWay;
    const copy = copyIntoEarlierTiers(key, found, background).finally(() => promoting.delete(path));
    promoting.set(path, copy);
    return copy;
  };
}
