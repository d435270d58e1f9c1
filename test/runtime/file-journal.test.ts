import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PrefetchJob } from '../../src/ingest/prefetch-job.js';
import { openFileJournal, readJournal } from '../../src/runtime/file-journal.js';

const job = (id: string, account = 'default'): PrefetchJob => ({ account, id });
const journalFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
function ownFile(dir: string): string {
  const files = journalFiles(dir);
  expect(files).toHaveLength(1);
  return join(dir, files[0]!);
}
const lines = (dir: string) => readFileSync(ownFile(dir), 'utf8').split('\n').filter((l) => l !== '');

describe('file journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wmp-journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replays what was appended and not done, oldest first, per account, hints included', async () => {
    const journal = await openFileJournal(dir);
    await journal.append([job('1'), { account: 'default', id: '2', hint: { mimeType: 'image/jpeg', sha256: 'ab'.repeat(32) } }, job('1', 'acme')]);
    await journal.done(job('1'));
    await journal.close();
    const reopened = await openFileJournal(dir);
    expect(await reopened.replay()).toEqual([{ account: 'default', id: '2', hint: { mimeType: 'image/jpeg', sha256: 'ab'.repeat(32) } }, job('1', 'acme')]);
    // Compacted at open: only the live jobs remain in the file.
    expect(lines(dir)).toHaveLength(2);
    await reopened.close();
  });

  it('skips a line torn by a crash and lines that are not jobs', async () => {
    const journal = await openFileJournal(dir);
    await journal.append([job('10'), job('11')]);
    await journal.close();
    appendFileSync(ownFile(dir), '{"op":"add","account":"default","id":"../etc"}\n{"op":"add","account":"BAD ACCT","id":"5"}\nnot json\n{"op":"done","account":"default","id":"1');
    const reopened = await openFileJournal(dir);
    expect(await reopened.replay()).toEqual([job('10'), job('11')]);
    await reopened.close();
  });

  it('keeps the record that follows a torn fragment on a line of its own (a write that failed half-way)', () => {
    const text = '{"op":"add","account":"default","id":"20"}\n{"op":"add","acc\n{"op":"add","account":"default","id":"21"}\n';
    expect([...readJournal(text).values()]).toEqual([job('20'), job('21')]);
  });

  it('compacts while running once dead lines outnumber live ones', async () => {
    const journal = await openFileJournal(dir, { compactAfterLines: 20 });
    for (let i = 0; i < 30; i++) {
      await journal.append([job(String(100 + i))]);
      await journal.done(job(String(100 + i)));
    }
    await journal.append([job('999')]);
    expect(lines(dir).length).toBeLessThan(20);
    await journal.close();
    const reopened = await openFileJournal(dir);
    expect(await reopened.replay()).toEqual([job('999')]);
    await reopened.close();
  });

  it('batches concurrent appends, each durable when it resolves', async () => {
    const journal = await openFileJournal(dir);
    await Promise.all(Array.from({ length: 50 }, (_, i) => journal.append([job(String(2000 + i))])));
    expect(lines(dir)).toHaveLength(50);
    await journal.close();
  });

  it('leaves a live process its own journal, adopts the jobs of one that is gone, and tidies up', async () => {
    const holder = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, '../support/journal-holder.ts'), dir, '4242'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ready) => holder.stdout!.on('data', (data: Buffer) => data.toString().includes('ready') && ready()));
    const mine = await openFileJournal(dir);
    expect(await mine.replay()).toEqual([]);
    expect(journalFiles(dir)).toHaveLength(2);
    await mine.close();
    // Closed with nothing left to do: its file is gone; the other process's remains.
    expect(journalFiles(dir)).toHaveLength(1);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const next = await openFileJournal(dir);
    expect(await next.replay()).toEqual([job('4242')]);
    // The adopted jobs are in the new journal's own file; the dead process's file is removed.
    expect(lines(dir)).toEqual([expect.stringContaining('"id":"4242"')]);
    await next.close();
  });
});
