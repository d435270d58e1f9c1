/**
 * The guard on its own, fed hand-made upstream bodies: shapes the fake CDN cannot send through
 * undici (a body longer than announced, a chunk past the end), and exactly which bytes reach the
 * caller before the sha256 check.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { guardBody } from '../../src/media/guard-body.js';
import { createNodeSha256 } from '../../src/runtime/node-sha256.js';

const file = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 251);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * An upstream answering `chunks` one read at a time (chunk n only once `gates[n]` settled, when
 * given); records whether the guard aborted it.
 */
function upstreamOf(chunks: readonly Uint8Array[], gates: readonly (Promise<unknown> | undefined)[] = []) {
  let aborted = false;
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await gates[next];
      const chunk = chunks[next++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
  return {
    upstream: { body, abort: () => void (aborted = true) },
    aborted: () => aborted,
  };
}

/** Reads the guarded stream to its end: every byte delivered, and the error it ended with, if any. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; chunks: number; error?: unknown }> {
  const reader = stream.getReader();
  let bytes = 0;
  let chunks = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, chunks };
      bytes += value.byteLength;
      chunks++;
    }
  } catch (error) {
    return { bytes, chunks, error };
  }
}

function guarded(chunks: readonly Uint8Array[], expected = sha256(file), expectedBytes = file.byteLength, gates: readonly (Promise<unknown> | undefined)[] = []) {
  const { upstream, aborted } = upstreamOf(chunks, gates);
  const stream = guardBody(upstream, { expectedBytes, idleTimeoutMs: 1000, verify: { hasher: createNodeSha256(), expected } });
  return { stream, aborted };
}

describe('guardBody, verifying', () => {
  it('passes every chunk before the last on at once, and the last one after the sha256 matched', async () => {
    let sendSecond = (): void => undefined;
    const second = new Promise<void>((resolve) => (sendSecond = resolve));
    const { stream } = guarded([file.subarray(0, 300), file.subarray(300, 600), file.subarray(600)], sha256(file), file.byteLength, [undefined, second]);
    const reader = stream.getReader();
    // The first chunk reaches the caller while the upstream has not sent the second one.
    const first = await Promise.race([reader.read(), new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 500))]);
    sendSecond();
    expect(first).toEqual({ done: false, value: file.subarray(0, 300) });
    expect((await reader.read()).value?.byteLength).toBe(300);
    expect((await reader.read()).value?.byteLength).toBe(400);
    expect((await reader.read()).done).toBe(true);
  });

  it('sends none of the last chunk when the bytes do not match, and only what came before it', async () => {
    expect(await drain(guarded([file.subarray(0, 999), file.subarray(999)], '0'.repeat(64)).stream)).toMatchObject({ bytes: 999, error: expect.anything() });
    // The whole body in one chunk: nothing at all reaches the caller.
    expect(await drain(guarded([file], '0'.repeat(64)).stream)).toMatchObject({ bytes: 0, error: expect.anything() });
  });

  it('fails without sending the last chunk when more bytes follow the announced size', async () => {
    const { stream, aborted } = guarded([file.subarray(0, 500), file.subarray(500), Uint8Array.of(1)]);
    expect(await drain(stream)).toMatchObject({ bytes: 500, error: expect.objectContaining({ code: 'upstream_error' }) });
    expect(aborted()).toBe(true);
  });

  it('fails before sending a chunk that runs past the announced size', async () => {
    const longer = new Uint8Array(1001);
    longer.set(file);
    expect(await drain(guarded([file.subarray(0, 999), longer.subarray(999)]).stream)).toMatchObject({ bytes: 999, error: expect.objectContaining({ code: 'upstream_error' }) });
  });

  it('fails a body cut short, after sending what came (none of it completes the file)', async () => {
    expect(await drain(guarded([file.subarray(0, 400)]).stream)).toMatchObject({ bytes: 400, error: expect.objectContaining({ code: 'upstream_error' }) });
  });

  it('skips empty chunks, also after the last one', async () => {
    expect(await drain(guarded([new Uint8Array(0), file.subarray(0, 10), file.subarray(10), new Uint8Array(0)]).stream)).toEqual({ bytes: 1000, chunks: 2 });
  });

  it('checks an empty file against the sha256 of nothing, with an empty body or none at all', async () => {
    const empty = sha256(new Uint8Array(0));
    expect(await drain(guarded([], empty, 0).stream)).toEqual({ bytes: 0, chunks: 0 });
    expect(await drain(guarded([], sha256(file), 0).stream)).toMatchObject({ bytes: 0, error: expect.objectContaining({ code: 'integrity_mismatch' }) });
    const noBody = (expected: string) =>
      guardBody({ body: null, abort: () => {} }, { expectedBytes: 0, idleTimeoutMs: 1000, verify: { hasher: createNodeSha256(), expected } });
    expect(await drain(noBody(empty))).toEqual({ bytes: 0, chunks: 0 });
    expect(await drain(noBody(sha256(file)))).toMatchObject({ bytes: 0, error: expect.objectContaining({ code: 'integrity_mismatch' }) });
  });
});
