import { describe, expect, it } from 'vitest';
import { createWorkerSha256 } from '../../../src/runtime/worker-sha256.js';
import { sha256Hex } from '../fake-upstream.js';

describe('createWorkerSha256 (crypto.DigestStream)', () => {
  it('hashes chunks written one by one like a digest of the whole', async () => {
    const whole = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) & 0xff);
    const hasher = createWorkerSha256();
    const chunks = [whole.subarray(0, 1), whole.subarray(1, 65_537), whole.subarray(65_537, 65_537), whole.subarray(65_537)];
    for (const chunk of chunks) hasher.update(chunk);
    expect(await hasher.digestHex()).toBe(await sha256Hex(whole));
    // The chunks go on to the caller: hashing must leave them intact.
    expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(whole.byteLength);
  });

  it('hashes an empty body', async () => {
    expect(await createWorkerSha256().digestHex()).toBe(await sha256Hex(new Uint8Array(0)));
  });
});
