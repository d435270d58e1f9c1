import type { S3StoreConfig } from '../../src/config.js';
import { inlineBackground, type MediaKey, type MediaMeta, type StoreTier, type TierWriter } from '../../src/cache/media-tier.js';
import type { Logger, LogFields } from '../../src/logger.js';
import { createS3Store, type S3StoreOptions } from '../../src/store/s3-store.js';
import type { FakeS3 } from '../support/fake-s3.js';
import { makeBytes, sha256Hex } from '../support/fake-whatsapp.js';

/** Shared by the S3 store tests: a store pointed at a fake, media to write, and a log to read. */

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: LogFields;
}

export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (fields: LogFields, msg: string) => void lines.push({ level, msg, fields });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

export function fakeConfig(fake: FakeS3, overrides: Partial<S3StoreConfig> = {}): S3StoreConfig {
  return {
    kind: 's3',
    bucket: fake.bucket,
    prefix: 'media',
    region: fake.credentials.region,
    endpoint: fake.endpoint,
    accessKeyId: fake.credentials.accessKeyId,
    secretAccessKey: fake.credentials.secretAccessKey,
    sessionToken: fake.credentials.sessionToken,
    ...overrides,
  };
}

export function storeOn(fake: FakeS3, overrides: Partial<Omit<S3StoreOptions, 'config'>> & { config?: Partial<S3StoreConfig> } = {}) {
  const { logger, lines } = recordingLogger();
  const evictions: string[] = [];
  const store = createS3Store({
    fetch: (input, init) => fetch(input, init),
    logger,
    timeoutMs: 2_000,
    metrics: { storeEviction: (reason) => void evictions.push(reason) },
    ...overrides,
    config: fakeConfig(fake, overrides.config),
  });
  /** How each finished write ended: ok, exists (412), refused (wrong bytes), failed. */
  const writes = () => lines.filter((l) => l.msg === 'store write finished').map((l) => l.fields.outcome);
  return { store, lines, evictions, writes };
}

export interface TestMedia {
  readonly key: MediaKey;
  readonly meta: MediaMeta;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

export function media(id: string, size: number, seed = 1, mimeType = 'image/jpeg'): TestMedia {
  const bytes = new Uint8Array(makeBytes(size, seed));
  return { key: { account: 'default', id }, meta: { id, mimeType, sha256: sha256Hex(bytes), size }, bytes };
}

/** Feeds `bytes` in chunks as the download does, awaiting backpressure; does not commit. */
export async function feed(writer: TierWriter, bytes: Uint8Array, chunk = 64 * 1024): Promise<void> {
  for (let at = 0; at < bytes.byteLength; at += chunk) await writer.write(bytes.slice(at, at + chunk));
}

/** Writes a whole file through a fresh writer and commits it. */
export async function storeFile(store: StoreTier, file: TestMedia): Promise<void> {
  const writer = store.put(file.key, file.meta, inlineBackground);
  if (writer === undefined) throw new Error('the store refused to take the file');
  await feed(writer, file.bytes);
  await writer.commit();
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

