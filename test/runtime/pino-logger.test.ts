import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPinoLogger } from '../../src/runtime/pino-logger.js';
import { turnBufferedStdout } from '../../src/runtime/turn-buffered-stdout.js';

const ROOT = resolve(import.meta.dirname, '../..');

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe('createPinoLogger', () => {
  afterEach(() => void vi.useRealTimers());

  it('writes one JSON object per line with a level label, an ISO time, msg and the fields', () => {
    const { lines, destination } = capture();
    createPinoLogger('info', destination).info({ requestId: 'r1', status: 200 }, 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request', requestId: 'r1', status: 200 });
    expect(new Date(String(lines[0]!.time)).toISOString()).toBe(lines[0]!.time);
  });

  it('stamps each line with the time it was written, also when lines come within the same millisecond', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { lines, destination } = capture();
    const logger = createPinoLogger('info', destination);
    vi.setSystemTime(new Date('2026-01-02T03:04:05.006Z'));
    logger.info({}, 'a');
    logger.info({}, 'b');
    vi.setSystemTime(new Date('2026-01-02T03:04:05.007Z'));
    logger.info({}, 'c');
    vi.setSystemTime(new Date('2026-01-02T03:04:06.007Z'));
    logger.info({}, 'd');
    expect(lines.map((l) => l.time)).toEqual(['2026-01-02T03:04:05.006Z', '2026-01-02T03:04:05.006Z', '2026-01-02T03:04:05.007Z', '2026-01-02T03:04:06.007Z']);
  });

  it('honours LOG_LEVEL', () => {
    const { lines, destination } = capture();
    const logger = createPinoLogger('warn', destination);
    logger.debug({}, 'd');
    logger.info({}, 'i');
    logger.warn({}, 'w');
    logger.error({}, 'e');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
    const silent = capture();
    createPinoLogger('silent', silent.destination).error({}, 'nothing');
    expect(silent.lines).toEqual([]);
  });

  it('writes stdout by the end of the turn that logged, even with the thread pool busy and the process killed in the next', async () => {
    // The thread pool's only thread is taken by a long pbkdf2, so a write handed to it (pino's
    // asynchronous mode) would still be queued when SIGKILL lands; this fails with `sync: false`.
    const script = [
      "import { pbkdf2 } from 'node:crypto';",
      `import { createPinoLogger } from ${JSON.stringify(join(ROOT, 'src/runtime/pino-logger.ts'))};`,
      "pbkdf2('busy', 'salt', 5e6, 32, 'sha256', () => {});",
      "createPinoLogger('info').info({ requestId: 'r-last' }, 'last words');",
      "setImmediate(() => process.kill(process.pid, 'SIGKILL'));",
    ].join('\n');
    const killed = await runScript(script);
    expect(killed.signal).toBe('SIGKILL');
    expect(linesOf(killed.stdout)).toEqual([expect.objectContaining({ level: 'info', msg: 'last words', requestId: 'r-last' })]);
  });

  it('still writes the lines of the turn in which an uncaught exception ends the process', async () => {
    const script = [
      `import { createPinoLogger } from ${JSON.stringify(join(ROOT, 'src/runtime/pino-logger.ts'))};`,
      "const logger = createPinoLogger('info');",
      "logger.info({ n: 1 }, 'before');",
      "logger.error({ n: 2 }, 'about to fail');",
      "throw new Error('boom');",
    ].join('\n');
    const crashed = await runScript(script);
    expect(crashed.code).toBe(1);
    expect(linesOf(crashed.stdout).map((l) => l.msg)).toEqual(['before', 'about to fail']);
  });
});

describe('turnBufferedStdout', () => {
  it("answers pino's flush(callback) once the pending lines are written", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wmp-log-'));
    const file = join(dir, 'out.log');
    const handle = await open(file, 'w');
    try {
      const logger = pino({}, turnBufferedStdout(handle.fd));
      logger.info({ n: 1 }, 'pending');
      const written = await new Promise<string>((resolve, reject) => logger.flush((error?: Error) => (error ? reject(error) : resolve(readFileSync(file, 'utf8')))));
      expect(linesOf(written)).toEqual([expect.objectContaining({ msg: 'pending', n: 1 })]);
    } finally {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    }
  });


  it('writes the lines of one turn in one piece, in order, once the turn ends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wmp-log-'));
    const file = join(dir, 'out.log');
    const handle = await open(file, 'w');
    try {
      const out = turnBufferedStdout(handle.fd);
      out.write('{"n":1}\n');
      out.write('{"n":2}\n');
      expect(readFileSync(file, 'utf8')).toBe('');
      await new Promise((resolve) => setImmediate(resolve));
      expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
      out.write('{"n":3}\n');
      out.flush();
      expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    } finally {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function runScript(script: string): Promise<{ code?: number | null; signal?: string | null; stdout: string }> {
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', UV_THREADPOOL_SIZE: '1' },
  });
  return run.then(
    (done) => ({ code: 0, stdout: done.stdout }),
    (error: { code?: number | null; signal?: string | null; stdout?: string }) => ({ code: error.code, signal: error.signal, stdout: String(error.stdout ?? '') }),
  );
}

function linesOf(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
