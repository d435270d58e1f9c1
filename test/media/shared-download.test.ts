/**
 * One download, many readers, every tier: the SharedDownload on its own, fed by a stream the test
 * controls chunk by chunk (the real source is guard-body's verified stream, tested through the proxy).
 */
import { describe, expect, it } from 'vitest';
import type { TierWriter } from '../../src/cache/media-tier.js';
import { SharedDownload } from '../../src/media/shared-download.js';

/** A source whose chunks the test pushes, and which records how far it has been read. */
function controlledSource() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      start: (c) => void (controller = c),
      pull: () => void pulls++,
    },
    { highWaterMark: 0 },
  );
  return { stream, push: (chunk: Uint8Array) => controller.enqueue(chunk), end: () => controller.close(), fail: (e: Error) => controller.error(e), pulls: () => pulls };
}

function recordingWriter(): TierWriter & { bytes: number; committed: boolean; aborted: boolean } {
  const writer = {
    bytes: 0,
    committed: false,
    aborted: false,
    write: async (chunk: Uint8Array) => void (writer.bytes += chunk.byteLength),
    commit: async () => void (writer.committed = true),
    abort: async () => void (writer.aborted = true),
  };
  return writer;
}

const chunk = (n: number, fill: number) => new Uint8Array(n).fill(fill);

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('SharedDownload', () => {
  it('gives a reader that joins late the bytes so far, then the rest, and commits every tier once at the end', async () => {
    const source = controlledSource();
    const writer = recordingWriter();
    const download = new SharedDownload({ source: source.stream, size: 30, writers: [writer], retainAll: true, windowBytes: 8, onWriterFailed: () => {}, awaitFirstReader: true });
    const early = readAll(download.attach()!);
    source.push(chunk(10, 1));
    source.push(chunk(10, 2));
    await tick();
    expect(writer.committed).toBe(false);
    const late = readAll(download.attach()!);
    source.push(chunk(10, 3));
    source.end();
    const expected = new Uint8Array([...chunk(10, 1), ...chunk(10, 2), ...chunk(10, 3)]);
    expect(await early).toEqual(expected);
    expect(await late).toEqual(expected);
    expect((await download.done).committed).toEqual([writer]);
    expect(writer.bytes).toBe(30);
  });

  it('reads nothing of the source before its first caller asks, so the answer headers go out first', async () => {
    const source = controlledSource();
    const writer = recordingWriter();
    const download = new SharedDownload({ source: source.stream, size: 10, writers: [writer], retainAll: true, windowBytes: 8, onWriterFailed: () => {}, awaitFirstReader: true });
    const reader = download.attach()!.getReader();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(source.pulls()).toBe(0);
    const first = reader.read();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(source.pulls()).toBe(1);
    source.push(chunk(10, 7));
    source.end();
    expect((await first).value).toEqual(chunk(10, 7));
    expect((await download.done).committed).toEqual([writer]);
  });

  it('fills the tiers a task later when the caller that started it never reads', async () => {
    const source = controlledSource();
    const writer = recordingWriter();
    const download = new SharedDownload({ source: source.stream, size: 10, writers: [writer], retainAll: true, windowBytes: 8, onWriterFailed: () => {}, awaitFirstReader: true });
    download.attach();
    await tick();
    expect(source.pulls()).toBe(1);
    source.push(chunk(10, 1));
    source.end();
    expect((await download.done).committed).toEqual([writer]);
    expect(writer.bytes).toBe(10);
  });

  it('serves a range from the shared bytes', async () => {
    const source = controlledSource();
    const download = new SharedDownload({ source: source.stream, size: 20, writers: [], retainAll: true, windowBytes: 8, onWriterFailed: () => {}, awaitFirstReader: true });
    const ranged = readAll(download.attach({ start: 5, end: 14 })!);
    source.push(new Uint8Array(20).map((_, i) => i));
    source.end();
    expect(await ranged).toEqual(new Uint8Array([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
  });

  it('keeps going for the others and for the tiers when one reader leaves', async () => {
    const source = controlledSource();
    const writer = recordingWriter();
    const download = new SharedDownload({ source: source.stream, size: 20, writers: [writer], retainAll: true, windowBytes: 8, onWriterFailed: () => {}, awaitFirstReader: true });
    const leaving = download.attach()!.getReader();
    const staying = readAll(download.attach()!);
    source.push(chunk(10, 1));
    await leaving.read();
    await leaving.cancel();
    source.push(chunk(10, 2));
    source.end();
    expect((await staying).byteLength).toBe(20);
    expect((await download.done).committed).toEqual([writer]);
  });

  it('fails every reader and commits nothing when the source fails', async () => {
    const source = controlledSource();
    const writer = recordingWriter();
    const download = new SharedDownload({ source: source.stream, size: 20, writers: [writer], retainAll: true, windowBytes: 8, onWriterFailed: () => {}, awaitFirstReader: true });
    const a = readAll(download.attach()!);
    const b = readAll(download.attach()!);
    source.push(chunk(10, 1));
    await tick();
    source.fail(new Error('integrity_mismatch'));
    await expect(a).rejects.toThrow('integrity_mismatch');
    await expect(b).rejects.toThrow('integrity_mismatch');
    await expect(download.done).rejects.toThrow('integrity_mismatch');
    expect(writer.committed).toBe(false);
    expect(writer.aborted).toBe(true);
    // Nobody can join a failed download.
    expect(download.attach()).toBeUndefined();
  });

  it('drops a failing tier and serves on', async () => {
    const source = controlledSource();
    const broken: TierWriter = { write: () => Promise.reject(new Error('disk full')), commit: async () => {}, abort: async () => {} };
    const failed: unknown[] = [];
    const download = new SharedDownload({ source: source.stream, size: 10, writers: [broken], retainAll: true, windowBytes: 8, onWriterFailed: (_w, e) => failed.push(e), awaitFirstReader: true });
    const reader = readAll(download.attach()!);
    source.push(chunk(10, 1));
    source.end();
    expect((await reader).byteLength).toBe(10);
    expect((await download.done).committed).toEqual([]);
    expect(failed).toHaveLength(1);
  });

  it('stops the transfer when its only reader leaves and no tier takes the file', async () => {
    const source = controlledSource();
    const download = new SharedDownload({ source: source.stream, size: 100, writers: [], retainAll: true, windowBytes: 8, onWriterFailed: () => {}, awaitFirstReader: true });
    const reader = download.attach()!.getReader();
    source.push(chunk(10, 1));
    await reader.read();
    await reader.cancel();
    await expect(download.done).rejects.toThrow('every reader left');
  });

  it('lets a caller join a large file from byte 0 while the download is within its first window', async () => {
    const source = controlledSource();
    const download = new SharedDownload({ source: source.stream, size: 60, writers: [], retainAll: false, windowBytes: 30, onWriterFailed: () => {}, awaitFirstReader: true });
    const first = download.attach()!;
    const firstBytes = readAll(first);
    for (let i = 0; i < 3; i++) source.push(chunk(10, i));
    await tick();
    // The first reader has read 30 bytes; a second caller still gets them all, then the rest with it.
    const second = download.attach();
    expect(second).toBeDefined();
    const secondBytes = readAll(second!);
    for (let i = 3; i < 6; i++) source.push(chunk(10, i));
    source.end();
    const expected = new Uint8Array(60).map((_, i) => Math.floor(i / 10));
    expect(await firstBytes).toEqual(expected);
    expect(await secondBytes).toEqual(expected);
    // Past the first window, what both passed is dropped: a third caller fetches on its own.
    expect(download.attach()).toBeUndefined();
  });

  it('runs a large file at most the window ahead of its slowest reader, dropping what every reader passed', async () => {
    const source = controlledSource();
    const writer = recordingWriter();
    const download = new SharedDownload({ source: source.stream, size: 1000, writers: [writer], retainAll: false, windowBytes: 30, onWriterFailed: () => {}, awaitFirstReader: true });
    const slow = download.attach()!.getReader();
    for (let i = 0; i < 10; i++) source.push(chunk(10, i));
    await tick();
    // The window is 30 bytes: the download read 3-4 chunks, not all 10, while the reader read none.
    expect(download.receivedBytes).toBeLessThanOrEqual(40);
    await slow.read();
    await tick();
    expect(download.receivedBytes).toBeGreaterThan(30);
    // A caller joining at byte 0 now finds the first chunk dropped: it must fetch on its own.
    await slow.read();
    await tick();
    expect(download.attach()).toBeUndefined();
    await slow.cancel();
  });
});
