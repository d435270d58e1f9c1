import type { ErrorCode } from '../errors.js';

/** How a prefetch job is retried, shared by the in-process queue and the Cloudflare Queues consumer. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** The n-th retry waits base·2ⁿ⁻¹, capped at maxMs, scaled by a random factor in [0.5, 1). */
  readonly baseMs: number;
  readonly maxMs: number;
  readonly random: () => number;
}

/** Five attempts over about half a minute (1 + 2 + 4 + 8 s, each jittered). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseMs: 1_000, maxMs: 60_000, random: Math.random };

/**
 * Failures that the same request would meet again: the id is unknown or expired (Graph 100/33), not
 * ours to read, not a media id, or too large to keep (issue 11's `media_too_large`). Everything
 * else (rate limits, 5xx, timeouts, a body cut off, a checksum mismatch that a second download may
 * not repeat, the business token rejected until the operator fixes it) is worth a bounded retry.
 */
const PERMANENT: ReadonlySet<string> = new Set(['media_not_found', 'upstream_forbidden', 'invalid_media_id', 'media_too_large']);

export function isPermanentFailure(code: ErrorCode | undefined): boolean {
  return code !== undefined && PERMANENT.has(code);
}

/** Exponential backoff with jitter; a Retry-After from upstream (seconds) is honoured as a floor. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfterSeconds?: number): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  const jittered = Math.round(exponential * (0.5 + policy.random() / 2));
  return Math.max(jittered, Math.min(policy.maxMs, (retryAfterSeconds ?? 0) * 1000));
}
