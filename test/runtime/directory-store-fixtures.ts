/**
 * What the directory store tests share: a fresh temporary directory per test (`root`), a clock that
 * starts at real time, the store's log lines, stores opened on it and closed after the test, and ways
 * to write, read and find its files. `root`, `clock` and `logs` are live bindings: read them inside a
 * test or hook, after `useStoreDirectory()`'s beforeEach has set them.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { type MediaMeta, type TierHit } from '../../src/cache/media-tier.js';
import { createJsonLogger } from '../../src/logger.js';
import { openDirectoryStore, TEMP_DIR, type DirectoryStore } from '../../src/runtime/directory-store.js';
import { encodeHeader } from '../../src/runtime/stored-file.js';
import { sha256Hex } from '../support/fake-whatsapp.js';
import { ManualClock } from '../support/proxy-harness.js';

export const HOUR = 60 * 60_000;
export const DAY = 24 * HOUR;

export let root: string;
export let clock: ManualClock;
export let logs: Array<Record<string, unknown>>;
export const opened: DirectoryStore[] = [];

/** Registers the hooks that give each test its own directory, clock and log, and close its stores. */
export function useStoreDirectory(): void {
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'wmp-store-'));
    // File mtimes are real time; the store's clock starts there so the two agree.
    clock = new ManualClock(Date.now());
    logs = [];
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await rm(root, { recursive: true, force: true });
  });
}

export async function open(options: { maxBytes?: number; maxAgeMs?: number } = {}): Promise<DirectoryStore> {
  const store = await openDirectoryStore({
    root,
    maxBytes: options.maxBytes ?? 1024 ** 3,
    maxAgeMs: options.maxAgeMs ?? 0,
    clock,
    logger: createJsonLogger('debug', (line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
    sweepIntervalMs: 0,
  });
  opened.push(store);
  return store;
}

export const key = (id: string) => ({ account: 'default', id });
export const metaOf = (id: string, bytes: Uint8Array): MediaMeta => ({ id, mimeType: 'image/jpeg', sha256: sha256Hex(bytes), size: bytes.byteLength });
/** A file's size on disk: its header plus its bytes, what STORE_MAX_BYTES counts. */
export const fileBytes = (id: string, size: number) => encodeHeader('default', { id, mimeType: 'image/jpeg', sha256: '0'.repeat(64), size }).byteLength + size;

/** Writes `bytes` through the tier's writer in chunks, then commits. */
export async function put(store: DirectoryStore, id: string, bytes: Uint8Array, { commit = true } = {}) {
  const writer = store.put(key(id), metaOf(id, bytes), { waitUntil() {} });
  if (writer === undefined) throw new Error('the store refused the file');
  for (let at = 0; at < bytes.byteLength; at += 100_000) await writer.write(bytes.subarray(at, at + 100_000));
  if (commit) await writer.commit();
  return writer;
}

export async function chunksOf(hit: TierHit, range?: { start: number; end: number }): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of await hit.open(range)) out.push(chunk);
  return out;
}
/** Byte equality without a deep comparison per element (slow on megabytes, and an unreadable diff). */
export const same = (a: Uint8Array | Uint8Array[], b: Uint8Array) => Buffer.concat(Array.isArray(a) ? a : [a]).equals(b);
export const tempFiles = () => readdir(join(root, TEMP_DIR));
export const stored = (id: string) => join(root, 'default', id);
