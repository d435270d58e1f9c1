/**
 * `promise`, or a rejection with `timeoutError()` after `ms`: for store writes that must not stall a
 * download that other callers read (a bucket that stops taking bytes fails its copy, not the request).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  // The executor runs synchronously, so the timer is set before race() can settle.
  let timer!: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
