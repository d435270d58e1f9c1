import type { MediaMeta } from '../cache/media-tier.js';

/** One stored file as the index knows it. */
export interface IndexEntry {
  /** `<account>/<id>`, also the file's path under the store root. */
  readonly key: string;
  /** Bytes on disk (header included): what STORE_MAX_BYTES counts. */
  readonly fileBytes: number;
  /** Last time the file was served or written, ms (persisted as the file's mtime, never its atime). */
  servedAt: number;
  /**
   * The file's mtime as this process last read or set it: when `servedAt` was last persisted. The
   * hourly refresh compares with this, not with `servedAt`, or a file served more often than hourly
   * would never have its mtime moved.
   */
  mtimeMs: number;
  /** Read from the file's header on first use; the bytes behind an id never change. */
  meta?: MediaMeta;
  /** On a scan's result only: the file's identity (identityOf) as the scan saw it, to compare with verifiedIdentity. */
  identity?: string;
  /**
   * Set while the bytes are known to match meta.sha256 (this process wrote the file, or read it whole
   * and it matched): the file's identity then. A rescan that finds another identity (the file
   * replaced, rewritten or touched by anything else) forgets it, and the next hit is checked again.
   */
  verifiedIdentity?: string;
}

/**
 * What changes whenever anything writes, replaces, renames or touches a file: its inode and its
 * ctime, which no user call can set back (`cp -p` and `rsync -a` restore an mtime, not a ctime).
 */
export function identityOf(stats: { readonly ino: number; readonly ctimeMs: number }): string {
  return `${stats.ino}:${stats.ctimeMs}`;
}

/**
 * The directory store's keys in memory, least recently served first, like nginx's proxy_cache keys
 * zone: eviction needs no directory walk, and a lookup of a known file no disk access. Rebuilt from
 * the directory at start (the loader), updated by this process's writes and reads, and merged with
 * what other processes wrote on each rescan.
 */
export class DirectoryIndex {
  private readonly entries = new Map<string, IndexEntry>();
  private total = 0;

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): IndexEntry | undefined {
    return this.entries.get(key);
  }

  /** Adds or replaces an entry as the most recently served. */
  add(entry: IndexEntry): void {
    this.remove(entry.key);
    this.entries.set(entry.key, entry);
    this.total += entry.fileBytes;
  }

  /** Marks an entry as just served: it moves to the end of the eviction order. */
  touch(key: string, now: number): IndexEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.servedAt = Math.max(entry.servedAt, now);
    return entry;
  }

  remove(key: string): IndexEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.total -= entry.fileBytes;
    return entry;
  }

  /**
   * Replaces the whole index with a fresh scan (sorted oldest first), keeping what this process
   * already knew about the files that are still there. A known file keeps its entry object, so a
   * check or a touch that ends after the scan still lands on the entry the index holds.
   */
  replace(scanned: readonly IndexEntry[]): void {
    const merged = scanned.map((entry) => {
      const previous = this.entries.get(entry.key);
      if (previous === undefined || previous.fileBytes !== entry.fileBytes) return entry;
      previous.servedAt = Math.max(previous.servedAt, entry.servedAt);
      previous.mtimeMs = entry.mtimeMs;
      if (previous.verifiedIdentity !== entry.identity) delete previous.verifiedIdentity;
      return previous;
    });
    merged.sort((a, b) => a.servedAt - b.servedAt);
    this.entries.clear();
    this.total = 0;
    for (const entry of merged) this.add(entry);
  }

  /**
   * The entries to remove so that at most `maxBytes` stay and none was last served before
   * `oldestServedAt`, least recently served first. Removes them from the index.
   */
  takeEvictions(maxBytes: number, oldestServedAt: number): Array<{ entry: IndexEntry; reason: 'size' | 'age' }> {
    const out: Array<{ entry: IndexEntry; reason: 'size' | 'age' }> = [];
    for (const entry of this.entries.values()) {
      const reason = this.total > maxBytes ? 'size' : entry.servedAt < oldestServedAt ? 'age' : undefined;
      // The order is by last service: once one entry is young enough and the bound holds, all are.
      if (reason === undefined) break;
      out.push({ entry, reason });
      this.entries.delete(entry.key);
      this.total -= entry.fileBytes;
    }
    return out;
  }
}
