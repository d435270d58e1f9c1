import { pino } from 'pino';

export interface TurnBufferedStdout {
  write(line: string): void;
  /**
   * Writes what is pending now (the end of a turn, process exit). pino's `logger.flush(cb)` calls it
   * with a callback, called once the lines are written.
   */
  flush(done?: (error?: Error) => void): void;
}

/**
 * stdout for the log, one write(2) per event-loop turn instead of one per line. Under load several
 * requests finish in one turn (every socket that was ready), and the write of their lines was the
 * largest part of the log's cost: ~12 % of a cache hit's CPU in `npm run bench:profile hit`, for
 * /dev/null; a pipe to a log collector costs more. At one request at a time it is one write per line,
 * as before.
 *
 * The writes themselves stay synchronous (sonic-boom `sync: true`, which also retries EAGAIN on a
 * non-blocking pipe and finishes a short write): the asynchronous mode hands each write to libuv's
 * thread pool and back, which measured 15-33 µs more CPU per request at low concurrency. Lines are
 * out by the end of the turn that logged them, and on a normal exit (also after an uncaught
 * exception, which the entrypoint logs and exits on). A process that dies without running its 'exit'
 * listeners loses the lines of its last turn: SIGKILL, a signal with no handler (SIGQUIT, SIGSEGV, …),
 * `process.abort()`, V8 running out of heap. So do lines logged by 'exit' listeners that run after
 * this one. A log reader that stops reading still
 * holds the proxy up, as `console.log` to a pipe does on Linux.
 */
export function turnBufferedStdout(fd = 1): TurnBufferedStdout {
  const out = pino.destination({ dest: fd, sync: true });
  let pending = '';
  const writePending = () => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  process.on('exit', writePending);
  return {
    write(line) {
      if (pending === '') setImmediate(writePending);
      pending += line;
    },
    flush(done) {
      writePending();
      done?.();
    },
  };
}
