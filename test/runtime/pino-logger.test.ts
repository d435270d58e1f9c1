import { describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/runtime/pino-logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe('createPinoLogger', () => {
  it('writes one JSON object per line with a level label, an ISO time, msg and the fields', () => {
    const { lines, destination } = capture();
    createPinoLogger('info', destination).info({ requestId: 'r1', status: 200 }, 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request', requestId: 'r1', status: 200 });
    expect(new Date(String(lines[0]!.time)).toISOString()).toBe(lines[0]!.time);
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
});
