import { open, type FileHandle } from 'node:fs/promises';
import { identityOf, type IndexEntry } from './directory-index.js';

/**
 * Writes a service time as the file's mtime. A check's mark moves to the touched file only if the
 * file is still the one checked: a touch must not vouch for a file replaced since.
 */
export async function persistServiceTime(file: string, entry: IndexEntry, now: number): Promise<void> {
  // As checked when the touch began: a rescan while it runs sees the touch half done.
  const checked = entry.verifiedIdentity;
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const before = identityOf(await handle.stat());
    await handle.utimes(now / 1000, now / 1000);
    const after = identityOf(await handle.stat());
    if (checked !== undefined && checked === before) entry.verifiedIdentity = after;
    else delete entry.verifiedIdentity;
  } catch {
    // Vanished or not ours to touch: the next rescan sees what is there.
  } finally {
    await handle?.close().catch(() => {});
  }
}
