import { describe, expect, it } from 'vitest';
import { createJsonLogger, describeError } from '../src/logger.js';

describe('describeError', () => {
  it('removes URLs, bearer tokens, JWTs and Graph tokens from messages', () => {
    const error = new Error(
      'GET https://lookaside.fbsbx.com/x?mid=1&hash=SIG failed with Bearer abc.def and eyJhbGciOiJIUzI1NiJ9.eyJtZWRpYSI6IioifQ.sig and EAAGm0PX4ZCpsBAKZB1234',
      { cause: new Error('see http://127.0.0.1:1/?token=eyJx.eyJy.z') },
    );
    const text = JSON.stringify(describeError(error));
    for (const secret of ['hash=SIG', 'abc.def', 'eyJhbGciOiJIUzI1NiJ9', 'EAAGm0PX4ZCpsBAKZB1234', 'token=']) expect(text).not.toContain(secret);
    expect(text).toContain('<url>');
  });

  it('describes non-errors without throwing', () => {
    expect(describeError('boom')).toEqual({ name: 'NonError', message: 'boom' });
  });
});

describe('createJsonLogger', () => {
  it('writes one JSON object per line at or above the level', () => {
    const lines: string[] = [];
    const logger = createJsonLogger('warn', (line) => lines.push(line));
    logger.info({ a: 1 }, 'hidden');
    logger.warn({ a: 2 }, 'shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: 'shown', a: 2 });
  });
});
