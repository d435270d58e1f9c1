import { describe, expect, it } from 'vitest';
import { ifNoneMatchHits, ifRangeAllows } from '../../src/http/conditional.js';

const etag = '"abc"';

describe('ifNoneMatchHits (weak comparison)', () => {
  it.each(['"abc"', 'W/"abc"', '"x", "abc"', '*', ' "abc" '])('%s matches', (header) => expect(ifNoneMatchHits(header, etag)).toBe(true));
  it.each([null, undefined, '', '"abd"', 'abc', '"ABC"'])('%s does not match', (header) => expect(ifNoneMatchHits(header, etag)).toBe(false));
});

describe('ifRangeAllows (strong comparison)', () => {
  it('honours Range without If-Range or with the same strong ETag', () => {
    expect(ifRangeAllows(null, etag)).toBe(true);
    expect(ifRangeAllows('"abc"', etag)).toBe(true);
  });
  it.each(['W/"abc"', '"abd"', 'Wed, 21 Oct 2015 07:28:00 GMT'])('ignores Range for If-Range %s', (header) => {
    expect(ifRangeAllows(header, etag)).toBe(false);
  });
});
