/**
 * Helpers for the R2 store tests inside workerd: a store on the MEDIA_BUCKET binding (miniflare's
 * local R2) whose log lines and metrics are captured, and files to copy through it.
 */
import { env } from 'cloudflare:workers';
import { inlineBackground, type MediaKey, type MediaMeta, type StoreTier, type TierHit } from '../../../src/cache/media-tier.js';
import { createJsonLogger } from '../../../src/logger.js';
import { createR2Store, type R2StoreBucket } from '../../../src/runtime/r2-store.js';
import { sha256Hex } from '../fake-upstream.js';

export const bucket = env.MEDIA_BUCKET;

export function r2Store(over: R2StoreBucket = bucket, timeoutMs = 5_000) {
  const lines: string[] = [];
  const metrics: string[] = [];
  const logger = createJsonLogger('debug', (line) => lines.push(line));
  const tier = createR2Store({
    bucket: over,
    logger,
    timeoutMs,
    metrics: { storeEviction: (reason) => void metrics.push(`eviction ${reason}`) },
  });
  return { tier, messages: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg), metrics: () => metrics };
}

export async function file(id: string, size: number, seed: number): Promise<{ key: MediaKey; meta: MediaMeta; bytes: Uint8Array<ArrayBuffer> }> {
  const bytes = new Uint8Array(size).map((_, i) => (i * seed + (i >> 8)) & 0xff);
  return { key: { account: 'default', id }, meta: { id, mimeType: 'video/mp4', sha256: await sha256Hex(bytes), size }, bytes };
}

export function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

export async function copy(tier: StoreTier, key: MediaKey, meta: MediaMeta, chunks: Uint8Array[]): Promise<void> {
  const writer = tier.put(key, meta, inlineBackground);
  if (writer === undefined) throw new Error('the R2 store takes every file');
  for (const chunk of chunks) await writer.write(chunk);
  await writer.commit();
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function hit(tier: StoreTier, key: MediaKey): Promise<TierHit> {
  const found = await tier.get(key);
  if (found === undefined) throw new Error(`no store entry for ${key.id}`);
  return found;
}
