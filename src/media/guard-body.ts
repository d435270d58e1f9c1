import { ProxyError } from '../errors.js';
import type { Sha256 } from '../hash.js';
import { UpstreamTimeout } from '../upstream/fetch-upstream.js';

/** A body to guard, and the means to stop whatever produces it (an upstream request; a file read). */
export interface GuardedSource {
  readonly body: ReadableStream<Uint8Array> | null;
  abort(reason?: unknown): void;
}

export interface GuardOptions {
  /** Exactly this many bytes must arrive: fewer is a truncation, more is a lie. */
  readonly expectedBytes: number;
  /**
   * No byte for this long aborts the upstream body (UPSTREAM_TIMEOUT_MS). None for a source that has
   * nothing to abort (a stored file: a read waits for the disk).
   */
  readonly idleTimeoutMs?: number;
  /** Verify the whole body against Graph's sha256 (full bodies only; a range cannot be checked). */
  readonly verify?: { readonly hasher: Sha256; readonly expected: string };
  readonly onIntegrityMismatch?: () => void;
  /** Called once when the body ends, fails (with the error) or is cancelled by the reader. */
  readonly onSettled?: (outcome: 'complete' | 'failed' | 'cancelled', error?: ProxyError) => void;
  /** Who sends the body, in failure details: the media CDN unless told otherwise. */
  readonly from?: string;
}

/**
 * Wraps an upstream body into the stream the caller reads. Pull-based with no internal queue, so a
 * slow reader slows the upstream read and memory never grows with the file.
 *
 * When verifying, the chunk that completes the announced size is held back until the upstream body
 * has ended and its digest matched: with Content-Length set, a client that received every byte would
 * take the response as complete, so a mismatch must be reported by erroring before the last byte,
 * which the runtime turns into an aborted connection. Every earlier chunk goes on as it arrives: the
 * caller's Content-Length is `expectedBytes` (media-loader checks a URL refresh names the same file),
 * so it cannot complete the body, and the first bytes do not wait for the next chunk. A body that
 * arrives in one chunk still waits for its end and the digest.
 */
export function guardBody(upstream: GuardedSource, options: GuardOptions): ReadableStream<Uint8Array> {
  const from = options.from ?? 'the media CDN';
  const reader = upstream.body?.getReader();
  let received = 0;
  let lastChunk: Uint8Array | undefined;
  let settled = false;
  const settle = (outcome: 'complete' | 'failed' | 'cancelled', error?: ProxyError) => {
    if (settled) return;
    settled = true;
    options.onSettled?.(outcome, error);
  };
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: ProxyError) => {
    upstream.abort(error);
    reader?.cancel(error).catch(() => {});
    settle('failed', error);
    // The runtime prints whatever the stream errors with (@hono/node-server console.errors it): give
    // it our own code and detail only, not the upstream cause chain, which onSettled logs scrubbed,
    // and no stack (its frames name files on the host; the request id in our log line is the trace).
    const surfaced = new ProxyError(error.code, error.detail === undefined ? {} : { detail: error.detail });
    surfaced.stack = `${surfaced.name}: ${surfaced.message}`;
    controller.error(surfaced);
  };

  /** True when nothing is to be verified (a range) or what arrived hashes to Graph's sha256. */
  const digestMatches = async () => options.verify === undefined || (await options.verify.hasher.digestHex()) === options.verify.expected;
  const mismatch = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    options.onIntegrityMismatch?.();
    fail(controller, new ProxyError('integrity_mismatch'));
  };

  async function readWithIdleTimeout(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const { idleTimeoutMs } = options;
    if (idleTimeoutMs === undefined) return reader!.read();
    const timer = setTimeout(() => upstream.abort(new UpstreamTimeout(`no body bytes for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    try {
      return await reader!.read();
    } finally {
      clearTimeout(timer);
    }
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (reader === undefined) {
          if (options.expectedBytes === 0) {
            // No body at all is an empty file, which still has to be the one Graph hashed.
            if (!(await digestMatches())) return mismatch(controller);
            settle('complete');
            return controller.close();
          }
          return fail(controller, new ProxyError('upstream_error', { detail: `${from} sent no body` }));
        }
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await readWithIdleTimeout();
          } catch (error) {
            const timedOut = error instanceof UpstreamTimeout || (error instanceof Error && error.cause instanceof UpstreamTimeout);
            return fail(controller, timedOut ? new ProxyError('upstream_timeout', { detail: `${from} stalled mid-body` }) : new ProxyError('upstream_error', { detail: `${from} failed mid-body`, cause: error }));
          }
          if (result.done) {
            if (received !== options.expectedBytes) {
              return fail(controller, new ProxyError('upstream_error', { detail: `${from} sent ${received} of ${options.expectedBytes} bytes` }));
            }
            if (!(await digestMatches())) return mismatch(controller);
            if (lastChunk) controller.enqueue(lastChunk);
            settle('complete');
            return controller.close();
          }
          const chunk = result.value;
          if (chunk.byteLength === 0) continue;
          received += chunk.byteLength;
          if (received > options.expectedBytes) {
            return fail(controller, new ProxyError('upstream_error', { detail: `${from} sent more bytes than announced` }));
          }
          if (!options.verify) return controller.enqueue(chunk);
          options.verify.hasher.update(chunk);
          if (received < options.expectedBytes) return controller.enqueue(chunk);
          // The body's last bytes: held until the upstream ends (more bytes would be a lie) and the
          // digest matched; read on.
          lastChunk = chunk;
        }
      },
      cancel(reason) {
        // The caller went away: stop the transfer instead of leaving it orphaned.
        settle('cancelled');
        upstream.abort(reason);
        return reader?.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
