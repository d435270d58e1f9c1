import { describe, expect, it } from 'vitest';
import { parseContentRange, parseRange } from '../../src/http/range.js';

describe('parseRange', () => {
  const size = 1000;
  it.each([
    ['bytes=0-1', { kind: 'partial', start: 0, end: 1 }],
    ['bytes=100-199', { kind: 'partial', start: 100, end: 199 }],
    ['bytes=900-', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=990-5000', { kind: 'partial', start: 990, end: 999 }],
    ['BYTES = 1 - 2', { kind: 'partial', start: 1, end: 2 }],
  ])('%s selects the right bytes', (header, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  it.each(['bytes=1000-', 'bytes=1000-2000', 'bytes=-0'])('%s is unsatisfiable', (header) => {
    expect(parseRange(header, size)).toEqual({ kind: 'unsatisfiable' });
  });

  it('treats any range of an empty file as unsatisfiable', () => {
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it.each([null, undefined, '', 'bytes=', 'bytes=-', 'bytes=5-1', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b', 'bytes=1-2-3', `bytes=0-${'9'.repeat(400)}`, 'bytes=99999999999999999999-'])(
    '%s is answered with the full representation',
    (header) => {
      expect(parseRange(header, size)).toEqual({ kind: 'full' });
    },
  );
});

describe('parseContentRange', () => {
  it('reads a CDN Content-Range', () => {
    expect(parseContentRange('bytes 0-1/1000')).toEqual({ start: 0, end: 1, size: 1000 });
  });
  it.each([null, 'bytes */1000', 'bytes 5-1/1000', 'bytes 0-1000/1000', 'bytes 0-1/*', 'items 0-1/10'])('rejects %s', (header) => {
    expect(parseContentRange(header)).toBeUndefined();
  });
});
