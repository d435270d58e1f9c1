import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPinoLogger } from '../../src/runtime/pino-logger.js';

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

  it('writes stdout synchronously: a line is out when the call returns, even with the thread pool busy and the process killed next', async () => {
    // The thread pool's only thread is taken by a long pbkdf2, so a write handed to it (pino's
    // asynchronous mode) would still be queued when SIGKILL lands; this fails with `sync: false`.
    const script = [
      "import { pbkdf2 } from 'node:crypto';",
      `import { createPinoLogger } from ${JSON.stringify(join(ROOT, 'src/runtime/pino-logger.ts'))};`,
      "pbkdf2('busy', 'salt', 5e6, 32, 'sha256', () => {});",
      "createPinoLogger('info').info({ requestId: 'r-last' }, 'last words');",
      "process.kill(process.pid, 'SIGKILL');",
    ].join('\n');
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', UV_THREADPOOL_SIZE: '1' },
    });
    const killed = await run.then(
      () => undefined,
      (error: { signal?: string; stdout?: string }) => error,
    );
    expect(killed?.signal).toBe('SIGKILL');
    const lines = String(killed?.stdout ?? '').trim().split('\n').filter((line) => line !== '');
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([expect.objectContaining({ level: 'info', msg: 'last words', requestId: 'r-last' })]);
  });
});
