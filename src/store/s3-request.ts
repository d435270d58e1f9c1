import { AwsClient } from 'aws4fetch';
import type { S3StoreConfig } from '../config.js';
import type { MediaKey } from '../cache/media-tier.js';
import { keyPath } from '../cache/media-tier.js';

/**
 * Addressing and SigV4 signing for one bucket. Signing only: the request itself goes through the
 * injected Fetch (deadlines, tests), never through aws4fetch's own fetch(), whose retry loop would
 * re-send a body a stream cannot replay. `retries: 0` says so for anyone who calls client.fetch later.
 */
export interface S3Addressing {
  /** The object key: `<prefix>/<account>/<id>`, or `<account>/<id>` without a prefix. */
  objectKey(key: MediaKey): string;
  /** Path-style `<endpoint>/<bucket>/<key>` with AWS_ENDPOINT_URL_S3, else virtual-hosted AWS. */
  objectUrl(objectKey: string): URL;
  /**
   * The headers to send, Authorization and x-amz-date included. `x-amz-content-sha256` must already be
   * in `headers` for a body (the payload hash is signed, never computed from a stream here); without
   * it aws4fetch signs UNSIGNED-PAYLOAD, which is right for GET, HEAD and DELETE.
   */
  sign(method: string, url: URL, headers: Record<string, string>): Promise<Headers>;
}

export function createS3Addressing(config: S3StoreConfig): S3Addressing {
  const client = new AwsClient({
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    ...(config.sessionToken === undefined ? {} : { sessionToken: config.sessionToken }),
    service: 's3',
    region: config.region,
    retries: 0,
  });
  // Each segment URI-encoded once: the canonical URI S3 signs (aws4fetch decodes and re-encodes the
  // path the same way for the s3 service).
  const encodePath = (key: string) => key.split('/').map(encodeURIComponent).join('/');
  const base = config.endpoint === undefined ? `https://${config.bucket}.s3.${config.region}.amazonaws.com` : `${config.endpoint}/${encodeURIComponent(config.bucket)}`;

  return {
    objectKey: (key) => (config.prefix === '' ? keyPath(key) : `${config.prefix}/${keyPath(key)}`),
    objectUrl: (objectKey) => new URL(`${base}/${encodePath(objectKey)}`),
    async sign(method, url, headers) {
      const signed = await client.sign(url.href, { method, headers });
      return signed.headers;
    },
  };
}

/** The `<Code>` of S3's XML error body, for logs and for telling a refusal from a failure. */
export async function s3ErrorCode(response: Response): Promise<string | undefined> {
  try {
    const text = (await response.text()).slice(0, 4096);
    return /<Code>([A-Za-z0-9.]{1,64})<\/Code>/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** S3's answers to a payload that is not the one the signed x-amz-content-sha256 or length announced. */
export const INTEGRITY_REFUSALS: ReadonlySet<string> = new Set(['XAmzContentSHA256Mismatch', 'BadDigest', 'IncompleteBody', 'InvalidDigest']);

export class S3StoreError extends Error {
  override readonly name = 'S3StoreError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
  ) {
    super(code === undefined ? message : `${message} (${code})`);
  }
}
