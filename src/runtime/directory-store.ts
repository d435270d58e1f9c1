import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { keyPath, type MediaKey, type StoreTier, type TierHit, type TierWriter } from '../cache/media-tier.js';
import type { Clock } from '../clock.js';
import { describeError, type Logger } from '../logger.js';
import { noopMetrics, type Metrics } from '../metrics.js';
import { DirectoryIndex, identityOf, type IndexEntry } from './directory-index.js';
import { decodeHeader, encodeHeader, MAX_HEADER_BYTES, PREAMBLE_BYTES } from './stored-file.js';
import { cleanTemporaryFiles, scanStore } from './directory-scan.js';
import { fsyncDirectory, writeAll } from './durable-fs.js';
import { fileStream } from './file-stream.js';
import { persistServiceTime } from './service-time.js';
import { withoutPath } from './fs-error.js';

export interface DirectoryStoreOptions {
  /** Absolute path of the store's root. */
  readonly root: string;
  readonly maxBytes: number;
  /** 0: no age limit. */
  readonly maxAgeMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** How often to pick up other processes' files and drop old ones (ms). Default 60 s; 0 = never. */
  readonly sweepIntervalMs?: number;
}

export interface DirectoryStore extends StoreTier {
  /** Re-reads the directory (files other processes wrote) and applies both bounds. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** Temporary files live inside the store's own directory: a rename across file systems is not atomic. */
export const TEMP_DIR = '.tmp';
/** A served file's mtime is refreshed at most this often: one utimes per hour, not one per hit. */
const TOUCH_EVERY_MS = 60 * 60_000;
const MEDIA_ID = /^[0-9]{1,32}$/;
const ACCOUNT = /^[a-z0-9_]{1,32}$/;

/** The store directory cannot be used: the start stops, naming STORE_URL. */
export class StoreStartError extends Error {
  override readonly name = 'StoreStartError';
}

/**
 * Verified media kept in a directory, `<root>/<account>/<media id>`, one file each with its header.
 * A write goes to a temporary file inside the root, is fsync'd and renamed into place only after the
 * download matched Graph's sha256: a crash, a full disk or a mismatch leaves at most a temporary file,
 * which the next start removes. Several processes may share one directory: each keeps its own index,
 * renames are atomic, and a file vanishing under one (another process evicted it) is a miss.
 */
export async function openDirectoryStore(options: DirectoryStoreOptions): Promise<DirectoryStore> {
  const { root, clock, logger } = options;
  const metrics = options.metrics ?? noopMetrics;
  const tempDir = join(root, TEMP_DIR);
  try {
    await mkdir(tempDir, { recursive: true });
    const probe = join(tempDir, `${process.pid}-probe-${randomBytes(4).toString('hex')}`);
    const handle = await open(probe, 'wx');
    await handle.write(new Uint8Array([1]));
    await handle.close();
    await unlink(probe);
  } catch (error) {
    throw new StoreStartError(`cannot create or write the store directory (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  await cleanTemporaryFiles(tempDir, clock.now(), logger);
  const index = new DirectoryIndex();
  const madeDirs = new Set<string>();

  const fileOf = (key: string) => join(root, ...key.split('/'));
  const valid = (key: MediaKey) => ACCOUNT.test(key.account) && MEDIA_ID.test(key.id);

  async function evict(): Promise<void> {
    const oldest = options.maxAgeMs > 0 ? clock.now() - options.maxAgeMs : -Infinity;
    for (const { entry, reason } of index.takeEvictions(options.maxBytes, oldest)) {
      await unlink(fileOf(entry.key)).catch(() => {});
      metrics.storeEviction(reason);
    }
  }

  async function sweep(): Promise<void> {
    index.replace(await scanStore(root, ACCOUNT, MEDIA_ID));
    await evict();
  }

  /** Drops a file whose header or length is wrong: never served, and not kept. */
  async function dropMalformed(key: string): Promise<undefined> {
    index.remove(key);
    await unlink(fileOf(key)).catch(() => {});
    metrics.storeEviction('malformed');
    logger.warn({ key }, 'stored file malformed; removed');
    return undefined;
  }

  async function readHeader(key: MediaKey, path: string): Promise<IndexEntry | undefined> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(fileOf(path), 'r');
      const { size, mtimeMs } = await handle.stat();
      const first = new Uint8Array(Math.min(size, PREAMBLE_BYTES + MAX_HEADER_BYTES));
      await handle.read(first, 0, first.byteLength, 0);
      const header = decodeHeader(first, size, key);
      if (header === undefined) return dropMalformed(path);
      return { key: path, fileBytes: size, servedAt: mtimeMs, mtimeMs, meta: header.meta };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ key: path, error: describeError(withoutPath(error)) }, 'stored file unreadable; treated as a miss');
      return undefined;
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  function touch(path: string): void {
    const now = clock.now();
    const entry = index.get(path);
    if (entry === undefined) return;
    index.touch(path, now);
    // The last service time outlives a restart as the mtime (atime is unreliable under relatime/noatime).
    if (now - entry.mtimeMs < TOUCH_EVERY_MS) return;
    entry.mtimeMs = now;
    void persistServiceTime(fileOf(path), entry, now);
  }

  function hitOf(path: string, entry: IndexEntry & { meta: NonNullable<IndexEntry['meta']> }): TierHit {
    const dataOffset = entry.fileBytes - entry.meta.size;
    const unchecked = entry.verifiedIdentity === undefined;
    // The identity of the file a whole read of this hit opened: what a confirm vouches for.
    let readIdentity: string | undefined;
    return {
      meta: entry.meta,
      ...(unchecked ? { confirm: () => void (readIdentity !== undefined && (entry.verifiedIdentity = readIdentity)) } : {}),
      open: async (range) => {
        const handle = await open(fileOf(path), 'r').catch((error: unknown) => Promise.reject(withoutPath(error)));
        if (unchecked && range === undefined) {
          const stats = await handle.stat().catch(() => undefined);
          readIdentity = stats && identityOf(stats);
        }
        const start = dataOffset + (range?.start ?? 0);
        const end = dataOffset + (range ? range.end + 1 : entry.meta.size);
        return fileStream(handle, start, end);
      },
    };
  }

  const timer = (options.sweepIntervalMs ?? 60_000) > 0 ? setInterval(() => void sweep().catch((error: unknown) => logger.warn({ error: describeError(withoutPath(error)) }, 'store sweep failed')), options.sweepIntervalMs ?? 60_000) : undefined;
  timer?.unref();
  await sweep();

  return {
    name: 'store',
    kind: 'directory',
    fill: () => ({ bytes: index.bytes, entries: index.size, maxBytes: options.maxBytes }),
    sweep,
    async close() {
      if (timer) clearInterval(timer);
    },

    async get(key) {
      if (!valid(key)) return undefined;
      const path = keyPath(key);
      let entry = index.get(path);
      if (entry?.meta === undefined) {
        // Unknown to this process (another one wrote it, or the start scan read no header yet).
        const read = await readHeader(key, path);
        if (read === undefined) return undefined;
        if (entry === undefined) index.add(read);
        else entry.meta = read.meta;
        entry = index.get(path) ?? read;
      }
      touch(path);
      return hitOf(path, entry as IndexEntry & { meta: NonNullable<IndexEntry['meta']> });
    },

    put(key, meta): TierWriter | undefined {
      const header = encodeHeader(key.account, meta);
      if (!valid(key) || header.byteLength + meta.size > options.maxBytes) return undefined;
      const path = keyPath(key);
      let temp = '';
      let written = 0;
      // The temporary file is made at the first byte (or the commit of an empty file), as the writer
      // is made before the download's answer is sent. Every write waits for the one before.
      let chain: Promise<FileHandle> | undefined;
      const opened = (): Promise<FileHandle> => {
        if (chain !== undefined) return chain;
        temp = join(tempDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
        return (chain = open(temp, 'wx').then(async (handle) => {
          // A failed header write closes the handle here: nothing after it gets one to close.
          await writeAll(handle, header).catch((error: unknown) => handle.close().then(() => Promise.reject(error), () => Promise.reject(error)));
          return handle;
        }));
      };
      const abort = async () => {
        // Nothing opened yet: a write after the abort must not open a file that nobody removes.
        if (chain === undefined) return void (chain = Promise.reject(new Error('write aborted'))).catch(() => {});
        const handle = await chain.catch(() => undefined);
        await handle?.close().catch(() => {});
        await rm(temp, { force: true }).catch(() => {});
      };
      return {
        write(chunk) {
          written += chunk.byteLength;
          if (written > meta.size) return Promise.reject(new RangeError('more bytes than announced'));
          chain = opened().then(async (handle) => {
            await writeAll(handle, chunk);
            return handle;
          });
          return chain.then(() => undefined, (error: unknown) => Promise.reject(withoutPath(error)));
        },
        // A failed commit (a full disk at fsync, a rename refused) removes its temporary file too.
        commit: () =>
          commit().catch(async (error: unknown) => {
            await abort();
            throw withoutPath(error);
          }),
        abort,
      };

      async function commit(): Promise<void> {
        if (written !== meta.size) throw new RangeError(`${written} of ${meta.size} bytes`);
        const handle = await opened();
        await handle.sync();
        const dir = join(root, key.account);
        if (!madeDirs.has(dir)) {
          await mkdir(dir, { recursive: true });
          madeDirs.add(dir);
        }
        await rename(temp, fileOf(path));
        await fsyncDirectory(dir);
        // Of the file as written and renamed (the rename moves its ctime), by its own handle: not of
        // whatever another process may have renamed onto the path since.
        const stats = await handle.stat().catch(() => undefined);
        await handle.close();
        index.add({ key: path, fileBytes: header.byteLength + meta.size, servedAt: clock.now(), mtimeMs: clock.now(), meta, ...(stats ? { verifiedIdentity: identityOf(stats) } : {}) });
        await evict();
      }
    },

    async delete(key) {
      if (!valid(key)) return;
      const path = keyPath(key);
      index.remove(path);
      await unlink(fileOf(path)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
  };
}
