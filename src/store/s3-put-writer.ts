import type { MediaMeta, TierWriter } from '../cache/media-tier.js';
import { s3ErrorCode, S3StoreError, INTEGRITY_REFUSALS } from './s3-request.js';
import { withTimeout } from '../with-timeout.js';

/**
 * One streamed PUT per writer, started by its first byte. Why this is atomic without any
 * staging object: the request declares Content-Length (Graph's file_size) and signs
 * x-amz-content-sha256 (Graph's sha256), so S3 stores the object only when exactly those bytes
 * arrived; a body that is cut short (abort(), a crash, a reset) is never completed, and wrong bytes
 * are answered 400 XAmzContentSHA256Mismatch. An abort that comes after every byte was sent can still
 * let S3 store the object, but then its bytes are, verifiably, the right ones.
 *
 * `If-None-Match: *` makes a second writer of the same id (another instance, a concurrent request)
 * harmless: S3 answers 412 (or 409 while the first upload is still in flight) and the first copy,
 * identical by construction, stays.
 */

export type WriteOutcome = 'ok' | 'exists' | 'refused' | 'failed';

export interface PutWriterOptions {
  readonly meta: MediaMeta;
  /** Sends the PUT with `body` once signed; rejects on network failure or abort. */
  readonly send: (body: ReadableStream<Uint8Array>, signal: AbortSignal) => Promise<Response>;
  readonly withKnownLength: ((body: ReadableStream<Uint8Array>, length: number) => ReadableStream<Uint8Array>) | undefined;
  /** How long a write may wait for S3 to take a chunk, and commit for S3's answer. */
  readonly timeoutMs: number;
  readonly onDone: (outcome: WriteOutcome, error?: unknown) => void;
}

/** Bytes queued ahead of the socket before write() waits: a smooth upload without holding the file. */
const QUEUE_BYTES = 1024 * 1024;

export function createPutWriter(options: PutWriterOptions): TierWriter {
  const { meta, timeoutMs } = options;
  const controller = new AbortController();

  let committing = false;
  let finished = false;
  /**
   * Set when S3 answered success or 412/409 before commit(): it had every declared byte and checked
   * their sha256 (the caller may still be verifying on its side), or another writer got there first.
   */
  let storedEarly: 'ok' | 'exists' | undefined;
  let failure: unknown;
  /**
   * The request starts with the first byte (or the commit of an empty file), not when the writer is
   * made: writers are made before the download's answer is sent, and signing and opening a request
   * would delay it.
   */
  let put: { readonly writer: WritableStreamDefaultWriter<Uint8Array>; readonly answer: Promise<'ok' | 'exists'> } | undefined;

  const finish = (outcome: WriteOutcome, error?: unknown) => {
    if (finished) return;
    finished = true;
    options.onDone(outcome, error);
  };
  const fail = (error: unknown) => {
    failure ??= error;
    controller.abort(error);
    put?.writer.abort(error).catch(() => {});
  };

  function started(): NonNullable<typeof put> {
    if (put !== undefined) return put;
    const pipe = new TransformStream<Uint8Array, Uint8Array>(undefined, new ByteLengthQueuingStrategy({ highWaterMark: QUEUE_BYTES }));
    const writer = pipe.writable.getWriter();
    const body = options.withKnownLength ? options.withKnownLength(pipe.readable, meta.size) : pipe.readable;
    const answer = options.send(body, controller.signal).then(async (response) => {
      if (response.status >= 200 && response.status < 300) return 'ok' as const;
      const code = await s3ErrorCode(response);
      if (response.status === 412 || response.status === 409) return 'exists' as const;
      const refused = response.status === 400 && code !== undefined && INTEGRITY_REFUSALS.has(code);
      throw new S3StoreError(refused ? 'store refused the bytes' : `store answered ${response.status} to a PUT`, response.status, code);
    });
    // An answer before commit(): a refusal sent as soon as S3 knew, a 412, or the end of a body whose
    // last byte was written but not yet closed. Stop feeding the body either way.
    const early = answer.then(
      (outcome) => {
        if (committing) return;
        storedEarly = outcome;
        writer.abort(new Error('store answered')).catch(() => {});
      },
      (error: unknown) => {
        if (!committing) fail(error);
      },
    );
    early.catch(() => {});
    put = { writer, answer };
    return put;
  }

  const bounded = <T>(promise: Promise<T>, what: string): Promise<T> =>
    withTimeout(promise, timeoutMs, () => new S3StoreError(`store took longer than ${timeoutMs} ms to ${what}`, undefined, undefined));

  return {
    async write(chunk) {
      if (storedEarly !== undefined) return;
      if (failure !== undefined) throw failure;
      const { writer } = started();
      writer.write(chunk).catch(() => {});
      try {
        await bounded(writer.ready, 'take a chunk');
      } catch (error) {
        if (storedEarly !== undefined) return;
        fail(error);
        finish('failed', failure);
        throw failure;
      }
    },

    async commit() {
      if (storedEarly !== undefined) return finish(storedEarly);
      if (failure !== undefined) {
        finish('failed', failure);
        throw failure;
      }
      committing = true;
      try {
        const { writer, answer } = started();
        await bounded(writer.close(), 'take the last chunk');
        finish(await bounded(answer, 'answer the PUT'));
      } catch (error) {
        fail(error);
        const refused = error instanceof S3StoreError && error.code !== undefined && INTEGRITY_REFUSALS.has(error.code);
        finish(refused ? 'refused' : 'failed', error);
        throw error;
      }
    },

    async abort(reason) {
      committing = true;
      fail(reason ?? new Error('write aborted'));
      put?.answer.catch(() => {});
      finished = true;
    },
  };
}
