import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRange, type RangeDecision } from '../../src/http/range.js';
import { isValidMediaId } from '../../src/media/media-id.js';

/** RFC 9110 §14.1.2/§14.1.3 for one range-spec, written out independently of the parser. */
function rangeModel(spec: { first?: bigint; last?: bigint }, size: number): RangeDecision {
  const big = BigInt(size);
  const safe = (n: bigint) => n <= BigInt(Number.MAX_SAFE_INTEGER);
  if (spec.first === undefined) {
    const suffix = spec.last!;
    if (!safe(suffix)) return { kind: 'full' };
    if (suffix === 0n || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Number(suffix >= big ? 0n : big - suffix), end: size - 1 };
  }
  const first = spec.first;
  if (!safe(first) || (spec.last !== undefined && !safe(spec.last))) return { kind: 'full' };
  if (spec.last !== undefined && spec.last < first) return { kind: 'full' }; // invalid: ignore Range
  if (first >= big) return { kind: 'unsatisfiable' };
  const last = spec.last === undefined || spec.last >= big ? big - 1n : spec.last;
  return { kind: 'partial', start: Number(first), end: Number(last) };
}

const size = fc.oneof(fc.nat({ max: 20 }), fc.nat({ max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER));
const position = fc.oneof(fc.bigInt({ min: 0n, max: 30n }), fc.bigInt({ min: 0n, max: 2_000_000n }), fc.bigInt({ min: 0n, max: 10n ** 22n }));
const spaces = fc.constantFrom('', ' ', '\t', '  ');

describe('parseRange (fast-check)', () => {
  it('whatever the header, the answer is full, unsatisfiable, or a range inside the file', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.stringMatching(/^bytes=[0-9 ,-]{0,30}$/)), size, (header, n) => {
        const decision = parseRange(header, n);
        if (decision.kind === 'partial') {
          expect(Number.isSafeInteger(decision.start) && Number.isSafeInteger(decision.end)).toBe(true);
          expect(decision.start).toBeGreaterThanOrEqual(0);
          expect(decision.start).toBeLessThanOrEqual(decision.end);
          expect(decision.end).toBeLessThan(n);
        } else {
          expect(['full', 'unsatisfiable']).toContain(decision.kind);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('a single well-formed range-spec is answered as RFC 9110 says', () => {
    const spec: fc.Arbitrary<{ first?: bigint; last?: bigint }> = fc.oneof(
      fc.record({ first: position, last: position }),
      fc.record({ first: position }),
      fc.record({ last: position }),
    );
    fc.assert(
      fc.property(spec, size, fc.constantFrom('bytes', 'BYTES', 'Bytes'), spaces, spaces, (s, n, unit, a, b) => {
        const header = `${unit}${a}=${b}${s.first ?? ''}${a}-${b}${s.last ?? ''}`;
        expect(parseRange(header, n)).toEqual(rangeModel(s, n));
      }),
      { numRuns: 5000 },
    );
  });

  it('several ranges, other units and over-long headers get the full file', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 2, maxLength: 5 }), size, (specs, n) => {
        expect(parseRange(`bytes=${specs.map(([x, y]) => `${x}-${y}`).join(',')}`, n)).toEqual({ kind: 'full' });
        expect(parseRange(`items=${specs[0]![0]}-${specs[0]![1]}`, n)).toEqual({ kind: 'full' });
        expect(parseRange(`bytes=${'0'.repeat(200)}${specs[0]![0]}-`, n)).toEqual({ kind: 'full' });
      }),
    );
  });
});

const isAsciiDigits = (s: string) => s.length > 0 && [...s].every((c) => c.charCodeAt(0) >= 48 && c.charCodeAt(0) <= 57);

describe('isValidMediaId (fast-check)', () => {
  it('accepts exactly 1 to 32 ASCII digits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.stringMatching(/^[0-9]{0,40}$/), fc.stringMatching(/^[0-9]{1,20}[^0-9][0-9]{0,5}$/)), (s) => {
        expect(isValidMediaId(s)).toBe(isAsciiDigits(s) && s.length <= 32);
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses other digit systems and look-alikes', () => {
    const lookAlike = fc.constantFrom('٠', '١', '۱', '१', '１', '𝟏', '¹', '₁', 'Ⅰ', '\u200b', '\n', ' ', '+', '-', '.', 'e', '/', '%', '\0');
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{0,15}$/), lookAlike, fc.stringMatching(/^[0-9]{0,15}$/), (before, odd, after) => {
        expect(isValidMediaId(`${before}${odd}${after}`)).toBe(false);
      }),
    );
  });
});
