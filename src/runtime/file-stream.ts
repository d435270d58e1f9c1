import type { FileHandle } from 'node:fs/promises';

/** One read(2) per chunk of a stored file: large enough that a 20 MiB store hit is 40 reads. */
const READ_CHUNK_BYTES = 512 * 1024;

/** Reads [start, end) of an open file as a pull-based stream; closes the file at the end or on cancel. */
export function fileStream(handle: FileHandle, start: number, end: number): ReadableStream<Uint8Array> {
  let position = start;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (position >= end) {
            await handle.close();
            return controller.close();
          }
          const length = Math.min(READ_CHUNK_BYTES, end - position);
          // Not zero-filled: the read overwrites it, and zeroing 512 KiB per chunk was a visible share of
          // a store hit's CPU. Never from Node's shared pool (a short tail would), so the chunk's
          // ArrayBuffer holds this file's bytes and nothing else.
          const buffer = Buffer.allocUnsafeSlow(length);
          const { bytesRead } = await handle.read(buffer, 0, length, position);
          if (bytesRead === 0) throw new Error('stored file ended early');
          position += bytesRead;
          controller.enqueue(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
        } catch (error) {
          await handle.close().catch(() => {});
          controller.error(error);
        }
      },
      cancel: () => handle.close().catch(() => {}),
    },
    // One chunk read ahead, so the next disk read overlaps the socket write of this one.
    { highWaterMark: 1 },
  );
}
