/** A directory store on a fresh temporary directory, for tests that need the store tier in-process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/logger.js';
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
