/**
 * Single byte ranges per RFC 9110 §14: `bytes=a-b`, `bytes=a-`, `bytes=-n`. A malformed header or a
 * multi-range request is answered with the full representation (§14.2 lets a server ignore Range),
 * which every player accepts; multipart/byteranges buys nothing for media.
 */
export type RangeDecision =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeDecision = { kind: 'full' };
const UNSATISFIABLE: RangeDecision = { kind: 'unsatisfiable' };
const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

export function parseRange(header: string | null | undefined, size: number): RangeDecision {
  if (header === null || header === undefined || header.length > 200) return FULL;
  const match = SINGLE.exec(header);
  if (match === null) return FULL;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return FULL;
  if (first === '') {
    // Suffix range: the last n bytes. `bytes=-0` selects nothing (§14.1.3: unsatisfiable).
    const length = Number(last);
    if (!Number.isSafeInteger(length)) return FULL;
    if (length === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (!Number.isSafeInteger(start) || (last !== '' && !Number.isSafeInteger(end))) return FULL;
  if (end < start) return FULL; // invalid range-spec: ignore the header
  if (start >= size) return UNSATISFIABLE;
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

/** Parses a CDN's `Content-Range: bytes a-b/size`, to check it before passing bytes on. */
export function parseContentRange(header: string | null): { start: number; end: number; size: number } | undefined {
  const match = header === null ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
  if (match === null) return undefined;
  const [start, end, size] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (![start, end, size].every(Number.isSafeInteger) || end < start || end >= size) return undefined;
  return { start, end, size };
}
