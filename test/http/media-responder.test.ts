import { describe, expect, it } from 'vitest';
import type { MediaMeta } from '../../src/cache/media-tier.js';
import { MediaResponder } from '../../src/http/media-responder.js';

const meta: MediaMeta = { id: '660000000000001', mimeType: 'image/jpeg', sha256: 'b'.repeat(64), size: 3 };
const ask = { head: false, download: false, ifNoneMatch: null, range: null, ifRange: null };

describe('MediaResponder', () => {
  it('reuses an entry’s headers for every hit, each responder with its own max-age', () => {
    const day = new MediaResponder(86_400);
    const minute = new MediaResponder(60);
    const body = new Uint8Array([1, 2, 3]);
    expect(day.fullHeaders(meta, false)).toBe(day.fullHeaders(meta, false));
    expect(day.answerFromBytes(meta, body, { kind: 'full' }, ask).headers.get('cache-control')).toContain('max-age=86400');
    expect(minute.answerFromBytes(meta, body, { kind: 'full' }, ask).headers.get('cache-control')).toContain('max-age=60');
  });
});
