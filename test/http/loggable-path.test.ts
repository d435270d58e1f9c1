import { describe, expect, it } from 'vitest';
import { loggablePath } from '../../src/http/loggable-path.js';

/** A JWT's shape (header.payload.signature, base64url), built here rather than committed. */
const b64url = (text: string) => Buffer.from(text).toString('base64url');
const JWT = [b64url('{"alg":"HS256"}'), b64url('{"media":"*","exp":1700000000}'), b64url('not a real signature, 32 bytes.')].join('.');

describe('loggablePath', () => {
  it('keeps an ordinary path as it is', () => {
    expect(loggablePath('/media/1234567890123456')).toBe('/media/1234567890123456');
  });

  it.each([
    ['as a segment', `/media/${JWT}`, '/media/<redacted>'],
    ['after an id', `/media/123/${JWT}/x`, '/media/123/<redacted>/x'],
    ['glued to other characters', `/x/pre_${JWT}`, '/x/<redacted>'],
    ['twice', `/${JWT}/${JWT}`, '/<redacted>/<redacted>'],
    ['without a signature', `/${JWT.slice(0, JWT.lastIndexOf('.') + 1)}`, '/<redacted>'],
  ])('redacts a JWT pasted into the path (%s)', (_where, path, logged) => {
    expect(loggablePath(path)).toBe(logged);
  });

  it('cuts a long path to 256 characters and says so', () => {
    const logged = loggablePath(`/media/${'1'.repeat(1000)}`);
    expect(logged).toBe(`/media/${'1'.repeat(249)}…`);
  });

  it('redacts a token that starts just before the cut', () => {
    const path = `/${'a'.repeat(240)}/${JWT}`;
    const logged = loggablePath(path);
    expect(logged).toBe(`/${'a'.repeat(240)}/<redacted>`);
    expect(logged).not.toContain(JWT.slice(0, 10));
  });

  it('marks a path longer than it scans as cut, even when redaction shortened what is kept', () => {
    const logged = loggablePath(`/${JWT}`.repeat(6) + '/tail'.repeat(200));
    expect(logged.endsWith('…')).toBe(true);
    expect(logged).not.toContain('eyJ');
  });
});
