/**
 * The fake S3 the Worker project's global setup runs (test/support/worker-global-setup.ts), as a store
 * configuration and as a store client for tests inside workerd.
 */
import { inject } from 'vitest';
import type { S3StoreConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { createS3Store, type S3StoreOptions } from '../../src/store/s3-store.js';
import '../support/fake-s3-protocol.js';

export const fakeS3 = inject('fakeS3');

export function fakeS3Config(prefix: string): S3StoreConfig {
  const { bucket, region, endpoint, accessKeyId, secretAccessKey } = fakeS3;
  return { kind: 's3', bucket, prefix, region, endpoint, accessKeyId, secretAccessKey, sessionToken: undefined };
}

export function fakeS3Store(prefix: string, overrides: Partial<Omit<S3StoreOptions, 'config'>> = {}) {
  return createS3Store({ config: fakeS3Config(prefix), fetch: (input, init) => fetch(input, init), logger: silentLogger, timeoutMs: 5_000, ...overrides });
}
