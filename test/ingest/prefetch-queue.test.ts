/**
 * The in-process queue, running jobs through the app's own ingestor (resolve + download + verify into
 * memory) against the fake Graph + CDN, so every job is a real download.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProxyError } from '../../src/errors.js';
import type { MediaIngestor, PrefetchJob, PrefetchJournal } from '../../src/ingest/prefetch-job.js';
import { PrefetchQueue, type PrefetchQueueDeps } from '../../src/ingest/prefetch-queue.js';
import { createJsonLogger } from '../../src/logger.js';
import { openFileJournal } from '../../src/runtime/file-journal.js';
import { graphError, makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { recordingMetrics } from '../support/recording-metrics.js';

const jobs = (...ids: string[]): PrefetchJob[] => ids.map((id) => ({ account: 'default', id }));

describe('PrefetchQueue', () => {
  let h: Harness;
  let logs: string[];
  let recorded: ReturnType<typeof recordingMetrics>;
  beforeEach(async () => {
    h = await startHarness({ env: { GRAPH_MAX_RETRIES: '0' } });
    logs = [];
    recorded = recordingMetrics();
    for (let i = 0; i < 20; i++) h.fake.addMedia(String(500 + i), { bytes: makeBytes(2_000 + i, i + 1), mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  function queue(overrides: Partial<PrefetchQueueDeps> = {}): PrefetchQueue {
    return new PrefetchQueue({
      ingestor: h.proxy.ingestor,
      clock: h.clock,
      logger: createJsonLogger('debug', (line) => logs.push(line)),
      metrics: recorded.metrics,
      maxQueued: 100,
      concurrency: 4,
      ...overrides,
    });
  }

  it('downloads each accepted id once into memory, and answers `stored` without a download afterwards', async () => {
    const q = queue();
    const first = await q.accept(jobs('500', '501', '502'), { checkStored: true });
    expect(first.states).toEqual(['queued', 'queued', 'queued']);
    await first.settled;
    for (const id of ['500', '501', '502']) {
      expect(h.fake.count('cdn', id)).toBe(1);
      expect(h.proxy.memory.entries).toBe(3);
    }
    const again = await q.accept(jobs('500', '501', '503'), { checkStored: true });
    expect(again.states).toEqual(['stored', 'stored', 'queued']);
    await again.settled;
    expect(h.fake.count('cdn', '500')).toBe(1);
    expect(h.fake.count('cdn', '503')).toBe(1);
    expect(recorded.jobs).toMatchObject({ accepted: 4, done: 4, failed: 0 });
  });

  it('runs a redelivered id once: a duplicate joins the pending job; a later one finds it stored', async () => {
    h.fake.scriptDownload('504', { headerDelayMs: 100 });
    const q = queue();
    const a = await q.accept(jobs('504'));
    const b = await q.accept(jobs('504', '504'));
    expect(q.depth).toBe(1);
    await Promise.all([a.settled, b.settled]);
    const c = await q.accept(jobs('504'));
    await c.settled;
    expect(h.fake.count('graph', '504')).toBe(1);
    expect(h.fake.count('cdn', '504')).toBe(1);
    expect(recorded.jobs).toMatchObject({ accepted: 2, done: 1, already_stored: 1 });
  });

  it('runs at most PREFETCH_CONCURRENCY jobs at once', async () => {
    let running = 0;
    let peak = 0;
    const counting: MediaIngestor = {
      isStored: (account, id) => h.proxy.ingestor.isStored(account, id),
      async ingest(account, id) {
        peak = Math.max(peak, ++running);
        try {
          await h.proxy.ingestor.ingest(account, id);
        } finally {
          running--;
        }
      },
    };
    for (let i = 0; i < 10; i++) h.fake.scriptDownload(String(500 + i), { headerDelayMs: 30 });
    const q = queue({ ingestor: counting, concurrency: 3 });
    const { settled } = await q.accept(jobs(...Array.from({ length: 10 }, (_, i) => String(500 + i))));
    await settled;
    expect(peak).toBe(3);
    expect(h.fake.count('cdn')).toBe(10);
  });

  it('refuses a batch that does not fit whole with queue_full and a Retry-After, and takes it once there is room', async () => {
    h.fake.scriptDownload('500', { headerDelayMs: 150 });
    h.fake.scriptDownload('501', { headerDelayMs: 150 });
    const q = queue({ maxQueued: 3 });
    const first = await q.accept(jobs('500', '501'));
    const refused = await q.accept(jobs('502', '503')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProxyError);
    expect(refused).toMatchObject({ code: 'queue_full', status: 503 });
    expect((refused as ProxyError).retryAfter).toBeGreaterThan(0);
    // Nothing of the refused batch was taken; an id already pending needs no room.
    expect(q.depth).toBe(2);
    expect((await q.accept(jobs('500', '502'))).states).toEqual(['queued', 'queued']);
    await first.settled;
    await q.idle();
    const later = await q.accept(jobs('503', '504'));
    await later.settled;
    expect(h.fake.count('cdn', '503')).toBe(1);
  });

  it('retries a transient failure with growing, jittered backoff, then succeeds', async () => {
    h.fake.scriptGraph('505', { status: 500, body: graphError(2, { is_transient: true }) }, { status: 503, body: graphError(2) });
    const q = queue({ retry: { baseMs: 100, random: () => 0.5 } });
    await (await q.accept(jobs('505'))).settled;
    expect(h.fake.count('cdn', '505')).toBe(1);
    expect(h.clock.sleeps).toEqual([75, 150]);
    expect(recorded.jobs).toMatchObject({ retried: 2, done: 1, failed: 0 });
  });

  it('gives a job up after the bounded number of attempts and logs it without payload', async () => {
    h.fake.setDownloadFault('506', { corrupt: true });
    const q = queue({ retry: { maxAttempts: 3, baseMs: 10 } });
    await (await q.accept(jobs('506'))).settled;
    expect(h.fake.count('cdn', '506')).toBe(3);
    expect(recorded.jobs).toMatchObject({ retried: 2, failed: 1, done: 0 });
    expect(h.proxy.memory.entries).toBe(0);
    const dropped = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'prefetch: job given up for now; the journal keeps it for the next start');
    expect(dropped).toMatchObject({ mediaId: '506', code: 'integrity_mismatch', attempts: 3 });
  });

  it('drops an unknown id (Graph 100/33) at once: no retry', async () => {
    const q = queue();
    await (await q.accept(jobs('999000'))).settled;
    expect(h.fake.count('graph', '999000')).toBe(1);
    expect(h.clock.sleeps).toEqual([]);
    expect(recorded.jobs).toMatchObject({ failed: 1, retried: 0 });
  });

  describe('with a journal', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'wmp-queue-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps a job that ran out of attempts on transient failures for the next start, and drops an unknown id for good', async () => {
      const journal = await openFileJournal(dir);
      h.fake.setDownloadFault('510', { status: 503 });
      const q = queue({ journal, retry: { maxAttempts: 2, baseMs: 1 } });
      await (await q.accept(jobs('510', '999001'))).settled;
      await journal.close();
      const reopened = await openFileJournal(dir);
      expect((await reopened.replay()).map((j) => j.id)).toEqual(['510']);
      await reopened.close();
    });

    it('has a job on disk before accept resolves, and marks it done after', async () => {
      const journal = await openFileJournal(dir);
      h.fake.scriptDownload('507', { headerDelayMs: 100 });
      const q = queue({ journal });
      const { settled } = await q.accept(jobs('507'));
      const [file] = readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
      expect(readFileSync(join(dir, file!), 'utf8')).toContain('"id":"507"');
      await settled;
      await journal.close();
      const reopened = await openFileJournal(dir);
      expect(await reopened.replay()).toEqual([]);
      await reopened.close();
    });

    it('replays the jobs of a previous run at start, before new ones', async () => {
      const before = await openFileJournal(dir);
      await before.append(jobs('508', '509'));
      await before.close();
      const journal = await openFileJournal(dir);
      const q = queue({ journal });
      await q.start();
      await q.idle();
      expect(h.fake.count('cdn', '508')).toBe(1);
      expect(h.fake.count('cdn', '509')).toBe(1);
      await journal.close();
    });

    it('refuses the batch (and frees its slots) when the journal cannot write it', async () => {
      const failing: PrefetchJournal = {
        append: () => Promise.reject(new Error('disk full')),
        done: () => Promise.resolve(),
        replay: () => Promise.resolve([]),
      };
      const q = queue({ journal: failing, maxQueued: 1 });
      await expect(q.accept(jobs('510'))).rejects.toThrow('disk full');
      expect(q.depth).toBe(0);
      expect(h.fake.count('graph', '510')).toBe(0);
    });
  });
});
