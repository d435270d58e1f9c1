import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { jobKey, parseJob, type PrefetchJob, type PrefetchJournal } from '../ingest/prefetch-job.js';

/**
 * The prefetch journal on Node: an append-only file of JSON lines in a directory of its own (beside
 * the store), `{"op":"add",…}` when a job is accepted and `{"op":"done",…}` when it finished.
 * - An append is written and fsync'd before it resolves, so the 202/200 that follows is a promise
 *   kept across a crash. Appends that arrive while a write is in progress go out together, with one
 *   fsync (group commit). A `done` needs no fsync of its own: a job replayed after it finished finds
 *   its media stored and downloads nothing.
 * - At open the file is read (a line torn by a crash mid-write is skipped) and compacted to the live
 *   jobs: written to a temporary file, fsync'd, renamed over, the directory fsync'd. It is compacted
 *   again when dead lines outnumber live ones (and there are at least `compactAfterLines`).
 * - One process owns a journal: a lock file holds its pid; a lock whose process is gone (SIGKILL) is
 *   taken over.
 */
export interface FileJournal extends PrefetchJournal {
  close(): Promise<void>;
}

export interface FileJournalOptions {
  /** Lines in the file before compaction is considered. Default 10000. */
  readonly compactAfterLines?: number;
}

export class JournalBusy extends Error {
  override readonly name = 'JournalBusy';
}

const FILE = 'journal.jsonl';

export async function openFileJournal(dir: string, options: FileJournalOptions = {}): Promise<FileJournal> {
  await mkdir(dir, { recursive: true });
  const lockPath = join(dir, 'journal.lock');
  await takeLock(lockPath);
  const path = join(dir, FILE);
  const live = readJournal(await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error))));
  let handle = await compact(dir, path, live);
  let lines = live.size;
  const compactAfter = options.compactAfterLines ?? 10_000;
  let replayed = false;
  let closed = false;

  let buffer: string[] = [];
  let needsSync = false;
  let waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  let flushing: Promise<void> | undefined;

  async function flushLoop(): Promise<void> {
    while (buffer.length > 0) {
      const batch = buffer.join('');
      const batchWaiters = waiters;
      const sync = needsSync;
      lines += buffer.length;
      buffer = [];
      waiters = [];
      needsSync = false;
      try {
        await handle.write(batch);
        if (sync) await handle.sync();
        if (lines >= compactAfter && lines > 2 * live.size) {
          await handle.close();
          handle = await compact(dir, path, live);
          lines = live.size;
        }
        for (const waiter of batchWaiters) waiter.resolve();
      } catch (error) {
        for (const waiter of batchWaiters) waiter.reject(error);
      }
    }
    flushing = undefined;
  }

  function write(records: readonly string[], durable: boolean): Promise<void> {
    buffer.push(...records);
    needsSync ||= durable;
    const written = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    flushing ??= flushLoop();
    return written;
  }

  return {
    async replay() {
      if (replayed) return [];
      replayed = true;
      return [...live.values()];
    },
    append(jobs) {
      if (closed) return Promise.reject(new Error('the prefetch journal is closed'));
      for (const job of jobs) live.set(jobKey(job), job);
      return write(jobs.map((job) => record('add', job)), true);
    },
    done(job) {
      live.delete(jobKey(job));
      // After close (shutdown), a job that finishes is simply replayed next time and found stored.
      if (closed) return Promise.resolve();
      return write([record('done', job)], false);
    },
    async close() {
      closed = true;
      await flushing;
      await handle.close();
      await rm(lockPath, { force: true });
    },
  };
}

function record(op: 'add' | 'done', job: PrefetchJob): string {
  const hint = op === 'add' && job.hint !== undefined && Object.keys(job.hint).length > 0 ? { hint: job.hint } : {};
  return `${JSON.stringify({ op, account: job.account, id: job.id, ...hint })}\n`;
}

/** The live jobs of a journal's text, oldest first. Lines that do not parse (a torn tail) are skipped. */
export function readJournal(text: string): Map<string, PrefetchJob> {
  const live = new Map<string, PrefetchJob>();
  for (const line of text.split('\n')) {
    const parsed = parseLine(line);
    if (parsed === undefined) continue;
    const key = jobKey(parsed.job);
    if (parsed.op === 'done') live.delete(key);
    else if (!live.has(key)) live.set(key, parsed.job);
  }
  return live;
}

function parseLine(line: string): { op: 'add' | 'done'; job: PrefetchJob } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const op = typeof value === 'object' && value !== null ? (value as { op?: unknown }).op : undefined;
  const job = parseJob(value);
  return (op === 'add' || op === 'done') && job !== undefined ? { op, job } : undefined;
}

/** Rewrites the journal as its live jobs, atomically, and opens it for appending. */
async function compact(dir: string, path: string, live: ReadonlyMap<string, PrefetchJob>): Promise<FileHandle> {
  const temporary = `${path}.tmp`;
  const out = await open(temporary, 'w');
  try {
    await out.write([...live.values()].map((job) => record('add', job)).join(''));
    await out.sync();
  } finally {
    await out.close();
  }
  await rename(temporary, path);
  // The rename is durable only once the directory entry is.
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return open(path, 'a');
}

async function takeLock(lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const lock = await open(lockPath, 'wx');
      await lock.write(String(process.pid));
      await lock.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    // In a container the restarted proxy often has the same pid (1) as the one killed.
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new JournalBusy(`the prefetch journal is in use by process ${owner}`);
    }
    await rm(lockPath, { force: true });
  }
  throw new JournalBusy('the prefetch journal lock could not be taken');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
