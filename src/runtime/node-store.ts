import { resolve } from 'node:path';
import type { StoreTier } from '../cache/media-tier.js';
import type { Clock } from '../clock.js';
import { ConfigError, type StoreConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { openDirectoryStore, StoreStartError } from './directory-store.js';

export interface NodeStoreDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

/**
 * The store STORE_URL names, on Node. A directory that cannot be created or written stops the start
 * with a ConfigError naming STORE_URL (never printing the path: it may be a host's mount point).
 */
export async function openNodeStore(config: StoreConfig, deps: NodeStoreDeps): Promise<StoreTier | undefined> {
  switch (config.kind) {
    case 'none':
      return undefined;
    case 'directory':
      try {
        return await openDirectoryStore({ root: resolve(config.path), maxBytes: config.maxBytes, maxAgeMs: config.maxAgeMs, ...deps });
      } catch (error) {
        if (error instanceof StoreStartError) throw new ConfigError('STORE_URL', error.message);
        throw error;
      }
    case 's3':
      throw new ConfigError('STORE_URL', 's3:// is not wired on Node yet');
    case 'r2':
      throw new ConfigError('STORE_URL', 'r2:// works on Cloudflare Workers only');
  }
}
