import { expect } from 'vitest';

/**
 * Byte equality for large bodies: vitest's deep toEqual walks a typed array element by element
 * (seconds for a megabyte). Reports the lengths and the first differing offset on failure.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  let firstDiff = -1;
  const n = Math.min(actual.byteLength, expected.byteLength);
  if (Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) !== 0) {
    for (let i = 0; i < n; i++) {
      if (actual[i] !== expected[i]) {
        firstDiff = i;
        break;
      }
    }
    if (firstDiff === -1) firstDiff = n;
  }
  expect({ length: actual.byteLength, firstDiff }).toEqual({ length: expected.byteLength, firstDiff: -1 });
}

export async function bodyBytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}
