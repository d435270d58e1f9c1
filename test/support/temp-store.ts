/** A directory store on a fresh temporary directory, for tests that need the store tier in-process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/logger.js';
import type { MediaKey, TierHit } from '../../src/cache/media-tier.js';
import { openDirectoryStore, type DirectoryStore } from '../../src/runtime/directory-store.js';
import { ManualClock } from './proxy-harness.js';

export interface TempStore {
  readonly store: DirectoryStore;
  readonly root: string;
  remove(): Promise<void>;
}

export async function openTempStore(maxBytes = 10_000_000): Promise<TempStore> {
  const root = mkdtempSync(join(tmpdir(), 'wmp-store-'));
  const store = await openDirectoryStore({ root, maxBytes, maxAgeMs: 0, clock: new ManualClock(), logger: silentLogger, sweepIntervalMs: 0 });
  return {
    store,
    root,
    async remove() {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * The store's entry for `key` once it is there, or undefined after `timeoutMs`: a download commits
 * its store copy just after the caller got its last byte (fsync and rename take a moment).
 */
export async function untilStored(store: DirectoryStore, key: MediaKey, timeoutMs = 5_000): Promise<TierHit | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = await store.get(key);
    if (hit !== undefined || Date.now() >= deadline) return hit;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
