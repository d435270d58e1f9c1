import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { identityOf, type IndexEntry } from './directory-index.js';
import { isProcessAlive } from './durable-fs.js';

/** Files stat'ed at once while scanning: 20,000 stored files take well under a second. */
const SCAN_CONCURRENCY = 64;
/** A temporary file this old belongs to no live write (a write is bounded by UPSTREAM_TIMEOUT_MS per chunk). */
const STALE_TEMP_MS = 60 * 60_000;

/**
 * The loader: every stored file's size and last service time (its mtime), without reading headers
 * (those are read on first use). Files vanishing during the walk (another process evicting) are skipped.
 */
export async function scanStore(root: string, account: RegExp, mediaId: RegExp): Promise<IndexEntry[]> {
  const found: IndexEntry[] = [];
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names.filter((n) => account.test(n))) {
    const files = await readdir(join(root, name)).catch(() => [] as string[]);
    const ids = files.filter((f) => mediaId.test(f));
    for (let i = 0; i < ids.length; i += SCAN_CONCURRENCY) {
      const batch = ids.slice(i, i + SCAN_CONCURRENCY);
      const stats = await Promise.all(batch.map((id) => stat(join(root, name, id)).catch(() => undefined)));
      stats.forEach((st, n) => {
        if (st?.isFile()) found.push({ key: `${name}/${batch[n]!}`, fileBytes: st.size, servedAt: st.mtimeMs, mtimeMs: st.mtimeMs, identity: identityOf(st) });
      });
    }
  }
  return found;
}

/**
 * Removes temporary files left by a crash: this process's pid from an earlier life (a container
 * restarts with the same pid), a process that no longer runs, or anything older than an hour. A
 * temporary file of another live process on the same directory is left alone.
 */
export async function cleanTemporaryFiles(tempDir: string, now: number, logger: Logger): Promise<void> {
  let removed = 0;
  for (const name of await readdir(tempDir).catch(() => [] as string[])) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    const path = join(tempDir, name);
    const st = await stat(path).catch(() => undefined);
    if (st === undefined) continue;
    const stale = pid === process.pid || !Number.isSafeInteger(pid) || !isProcessAlive(pid) || now - st.mtimeMs > STALE_TEMP_MS;
    if (stale && (await unlink(path).then(() => true, () => false))) removed++;
  }
  if (removed > 0) logger.info({ removed }, 'removed temporary store files left by an earlier crash');
}
