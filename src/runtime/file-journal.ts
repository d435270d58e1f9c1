import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { jobKey, parseJob, type PrefetchJob, type PrefetchJournal } from '../ingest/prefetch-job.js';
import { fsyncDirectory, isProcessAlive } from './durable-fs.js';

/**
 * The prefetch journal on Node: in a directory beside the store, one append-only file of JSON lines
 * per process, `{"op":"add",…}` when a job is accepted and `{"op":"done",…}` when it finished.
 * - An append is written and fsync'd before it resolves, so the 202/200 that follows is a promise
 *   kept across a crash. Appends that arrive while a write is in progress go out together, with one
 *   fsync (group commit). A `done` needs no fsync of its own: a job replayed after it finished finds
 *   its media stored and downloads nothing.
 * - Several processes may share the directory (two proxies on one store directory): each writes its
 *   own `journal-<pid>-<random>.jsonl`. At open, a process adopts the files of processes that are gone
 *   (no such pid, or its own pid: a restarted container's proxy is pid 1 again): their live jobs are
 *   written into its own file, fsync'd, and only then are theirs removed. Two processes starting at
 *   once may both adopt a file: its jobs then run twice, which downloads nothing twice (they find the
 *   media stored). Liveness is a pid check, so the directory must not be shared across hosts.
 * - A line torn by a crash mid-write is skipped. The own file is compacted (rewritten as the live
 *   jobs: temporary file, fsync, rename, directory fsync) at open and again when dead lines outnumber
 *   live ones; at close it is removed when no job is left.
 */
export interface FileJournal extends PrefetchJournal {
  close(): Promise<void>;
}

export interface FileJournalOptions {
  /** Lines in the file before compaction is considered. Default 10000. */
  readonly compactAfterLines?: number;
}

const JOURNAL_FILE = /^journal-(\d+)-[0-9a-f]+\.jsonl(\.tmp)?$/;

export async function openFileJournal(dir: string, options: FileJournalOptions = {}): Promise<FileJournal> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `journal-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
  const { live, adopted } = await adoptAbandoned(dir);
  let handle = await compact(dir, path, live);
  for (const file of adopted) await rm(join(dir, file), { force: true });
  if (adopted.length > 0) await fsyncDirectory(dir);

  let lines = live.size;
  const compactAfter = options.compactAfterLines ?? 10_000;
  let replayed = false;
  let closed = false;
  let buffer: string[] = [];
  let needsSync = false;
  let waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  let flushing: Promise<void> | undefined;

  // After a failed write the file may end in part of a line: the next batch starts on a line of its
  // own, so the torn fragment is skipped at replay and the next acknowledged job is not lost with it.
  let torn = false;

  async function flushLoop(): Promise<void> {
    while (buffer.length > 0) {
      const batch = (torn ? '\n' : '') + buffer.join('');
      const batchWaiters = waiters;
      const sync = needsSync;
      lines += buffer.length;
      buffer = [];
      waiters = [];
      needsSync = false;
      try {
        // appendFile writes until every byte is out: a single write(2) may write less (a full disk).
        await handle.appendFile(batch);
        torn = false;
        if (sync) await handle.sync();
        if (lines >= compactAfter && lines > 2 * live.size) {
          await handle.close();
          handle = await compact(dir, path, live);
          lines = live.size;
        }
        for (const waiter of batchWaiters) waiter.resolve();
      } catch (error) {
        torn = true;
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
      if (live.size === 0) await rm(path, { force: true });
    },
  };
}

/** The live jobs of every journal file in `dir` whose process is gone, and those files' names. */
async function adoptAbandoned(dir: string): Promise<{ live: Map<string, PrefetchJob>; adopted: string[] }> {
  const live = new Map<string, PrefetchJob>();
  const adopted: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const match = JOURNAL_FILE.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && isProcessAlive(pid)) continue;
    adopted.push(name);
    // A leftover temporary file is a compaction that never reached its rename: the original is intact.
    if (match[2] !== undefined) continue;
    for (const [key, job] of readJournal(await readFile(join(dir, name), 'utf8'))) if (!live.has(key)) live.set(key, job);
  }
  return { live, adopted };
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
    await out.writeFile([...live.values()].map((job) => record('add', job)).join(''));
    await out.sync();
  } finally {
    await out.close();
  }
  await rename(temporary, path);
  await fsyncDirectory(dir);
  return open(path, 'a');
}

