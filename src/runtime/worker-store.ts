import type { StoreTier } from '../cache/media-tier.js';
import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createS3Store } from '../store/s3-store.js';
import { createR2Store } from './r2-store.js';
import { withFixedLength } from './worker-fixed-length.js';

/**
 * The Worker's persistent store from STORE_URL and the bindings. A Worker's default is `none` (it has
 * no disk); `r2://BINDING` names an R2 bucket binding of wrangler.toml, checked here because
 * loadConfig sees only the string variables.
 */
export function createWorkerStore(config: Config, env: Readonly<Record<string, unknown>>, logger: Logger): StoreTier | undefined {
  const store = config.store;
  switch (store.kind) {
    case 'none':
      return undefined;
    case 'r2': {
      const bucket = env[store.binding];
      if (!isR2Bucket(bucket)) {
        throw new ConfigError('STORE_URL', `r2://${store.binding} needs an R2 bucket binding named ${store.binding} ([[r2_buckets]] in wrangler.toml)`);
      }
      // A chunk or a commit R2 does not take within UPSTREAM_TIMEOUT_MS fails the copy, not the request.
      return createR2Store({ bucket, logger, timeoutMs: config.upstreamTimeoutMs });
    }
    case 's3':
      // An S3-compatible bucket works from a Worker too; FixedLengthStream gives its PUT a Content-Length.
      return createS3Store({ config: store, fetch: globalThis.fetch, logger, timeoutMs: config.upstreamTimeoutMs, withKnownLength: withFixedLength });
    case 'directory':
      // loadConfig(…, 'workers') refuses a directory; kept so a new kind cannot slip through.
      throw new ConfigError('STORE_URL', 'a Worker has no disk: use none or r2://BINDING');
  }
}

/**
 * An R2 binding by its shape: a KV namespace, a service or a plain variable bound under the same name
 * has no head() and no multipart uploads.
 */
function isR2Bucket(value: unknown): value is R2Bucket {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return ['head', 'get', 'put', 'delete', 'createMultipartUpload'].every((method) => typeof candidate[method] === 'function');
}
