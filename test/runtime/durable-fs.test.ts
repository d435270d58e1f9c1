import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAll } from '../../src/runtime/durable-fs.js';

/** A FileHandle whose write(2) takes at most `take` bytes per call (a disk filling up), recording what it got. */
function shortWriter(take: readonly number[]) {
  const written: number[] = [];
  let call = 0;
  const handle = {
    async write(bytes: Uint8Array, offset: number, length: number) {
      const n = Math.min(length, take[call++] ?? length);
      written.push(...bytes.subarray(offset, offset + n));
      return { bytesWritten: n, buffer: bytes };
    },
  };
  return { handle: handle as unknown as FileHandle, written, calls: () => call };
}

describe('writeAll', () => {
  it('writes the rest again after a short write, until every byte is written', async () => {
    const bytes = Uint8Array.from({ length: 10 }, (_, i) => i);
    const { handle, written, calls } = shortWriter([3, 4, 1]);
    await writeAll(handle, bytes);
    expect(written).toEqual([...bytes]);
    expect(calls()).toBe(4);
  });

  it('fails when write(2) takes nothing, instead of looping or leaving the file short', async () => {
    const { handle } = shortWriter([2, 0]);
    await expect(writeAll(handle, new Uint8Array(5))).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('writes a real file whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wmp-write-all-'));
    try {
      const handle = await open(join(dir, 'f'), 'wx');
      const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
      await writeAll(handle, bytes.subarray(0, 100_000));
      await writeAll(handle, bytes.subarray(100_000));
      await handle.close();
      expect(Buffer.from(await readFile(join(dir, 'f'))).equals(Buffer.from(bytes))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
