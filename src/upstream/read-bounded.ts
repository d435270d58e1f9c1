/**
 * Reads a body into memory, refusing more than `limit` bytes: upstream is not trusted to send what it
 * announced, and a hostile answer must not be able to fill the heap.
 */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

export interface ReadBoundedOptions {
  /** Sees each chunk's length before it is kept, and may throw to stop the read. */
  readonly onChunk?: (bytes: number) => void;
  /** Stops the read, which then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number, options: ReadBoundedOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const { onChunk, signal } = options;
  signal?.throwIfAborted();
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  // A cancelled reader's pending read answers `done`: the loop checks the signal before trusting it.
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      total += value.byteLength;
      if (total > limit) throw new BodyTooLarge(`body exceeds ${limit} bytes`);
      onChunk?.(value.byteLength);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    // A source that rejects its pending read when cancelled: the signal's reason is still the cause.
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const only = chunks.length === 1 ? chunks[0]! : undefined;
  if (only !== undefined && only.buffer instanceof ArrayBuffer) return only as Uint8Array<ArrayBuffer>;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
