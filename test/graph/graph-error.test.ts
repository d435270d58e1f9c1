import { describe, expect, it } from 'vitest';
import { classifyGraphFailure, parseGraphError } from '../../src/graph/graph-error.js';

function classify(status: number, error: Record<string, unknown> | undefined, retryAfter: string | null = null) {
  return classifyGraphFailure(status, parseGraphError(error === undefined ? 'not json' : { error }), retryAfter);
}

describe('classifyGraphFailure', () => {
  it('treats 100/33 (object does not exist) as not found', () => {
    const failure = classify(400, { code: 100, error_subcode: 33 });
    expect(failure.kind).toBe('not_found');
    expect(failure.error.status).toBe(404);
  });

  it('treats other code-100 subcodes as an upstream error, not as a missing object', () => {
    expect(classify(400, { code: 100, error_subcode: 2018001 }).kind).toBe('fatal');
  });

  it.each([4, 17, 32, 613, 80007, 130429])('treats code %i as a rate limit with Retry-After', (code) => {
    const failure = classify(400, { code }, '120');
    expect(failure).toMatchObject({ kind: 'rate_limited', retryAfter: 120 });
    expect(failure.error.retryAfter).toBe(120);
  });

  it('defaults Retry-After to 60 s when Graph sends none', () => {
    expect(classify(429, undefined)).toMatchObject({ kind: 'rate_limited', retryAfter: 60 });
  });

  it('treats 190 as our token rejected: 502, loud', () => {
    expect(classify(401, { code: 190, error_subcode: 463 })).toMatchObject({ kind: 'fatal', loud: true });
    expect(classify(401, { code: 190 }).error.code).toBe('upstream_auth_failed');
  });

  it.each([10, 200, 299])('treats permission code %i as 502', (code) => {
    expect(classify(403, { code }).error).toMatchObject({ code: 'upstream_forbidden', status: 502 });
  });

  it.each([
    [500, { code: 1 }],
    [503, { code: 2 }],
    [400, { code: 131000, is_transient: true }],
    [502, undefined],
  ])('treats HTTP %i %o as transient', (status, error) => {
    expect(classify(status, error).kind).toBe('transient');
  });

  it('treats a media download error (131052) as final 502', () => {
    expect(classify(400, { code: 131052 }).error).toMatchObject({ code: 'upstream_error', status: 502 });
  });

  it('reads numeric strings in error bodies', () => {
    expect(parseGraphError({ error: { code: '100', error_subcode: '33' } })).toMatchObject({ code: 100, subcode: 33 });
  });
});
