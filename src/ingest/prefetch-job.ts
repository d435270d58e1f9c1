import { ACCOUNT_NAME } from '../auth/verify-caller-token.js';
import { keyPath, type MediaKey } from '../cache/media-tier.js';
import { isValidMediaId } from '../media/media-id.js';
import { normaliseSha256 } from './extract-media.js';

/**
 * The unit of work of ingestion: one media id of one WhatsApp account, to be fetched and kept before
 * anyone asks for it. Webhook deliveries and POST /prefetch both produce these; the queue (Node), a
 * Cloudflare Queue or ctx.waitUntil (Workers) run them through a MediaIngestor.
 */
export interface MediaHint {
  /** The webhook's `mime_type`. A hint only: Graph's lookup is the source of truth. */
  readonly mimeType?: string;
  /** The webhook's `sha256`, normalised to lower-case hex (webhooks have been seen sending base64). */
  readonly sha256?: string;
}

/** `account` is `default` until issue 13's accounts; it is part of every dedup and store key. */
export interface PrefetchJob extends MediaKey {
  readonly hint?: MediaHint;
}

/** What the caller of POST /prefetch is told about each id. */
export type JobState = 'queued' | 'stored' | 'invalid';

/**
 * Where jobs end up: implemented over the store and the download path (a caller asking for an id
 * being ingested joins that same download). Both methods reject with ProxyError.
 */
export interface MediaIngestor {
  /** Whether `id` is already kept (so a job for it needs no download). */
  isStored(account: string, id: string): Promise<boolean>;
  /** Resolves once the media is stored (or in memory when there is no store). */
  ingest(account: string, id: string, hint?: MediaHint): Promise<void>;
}

/**
 * Accepted jobs, kept so that they survive a crash. `append` must be durable when it resolves (the
 * 202/200 is answered after it); `done` may be lazy: a job replayed after it finished finds its media
 * stored and downloads nothing.
 */
export interface PrefetchJournal {
  append(jobs: readonly PrefetchJob[]): Promise<void>;
  done(job: PrefetchJob): Promise<void>;
  /** The jobs appended and not done, oldest first; called once, at start. */
  replay(): Promise<PrefetchJob[]>;
}

/**
 * A job read back from outside this process (the journal file, a Cloudflare Queue message): the same
 * checks as when it was accepted, so a damaged record is skipped rather than fetched.
 */
export function parseJob(value: unknown): PrefetchJob | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { account, id, hint } = value as Record<string, unknown>;
  if (typeof account !== 'string' || !ACCOUNT_NAME.test(account) || typeof id !== 'string' || !isValidMediaId(id)) return undefined;
  const cleanHint = parseHint(hint);
  return { account, id, ...(cleanHint === undefined ? {} : { hint: cleanHint }) };
}

function parseHint(hint: unknown): MediaHint | undefined {
  if (typeof hint !== 'object' || hint === null) return undefined;
  const { mimeType, sha256 } = hint as Record<string, unknown>;
  const hex = normaliseSha256(sha256);
  return { ...(typeof mimeType === 'string' && mimeType.length <= 129 ? { mimeType } : {}), ...(hex === undefined ? {} : { sha256: hex }) };
}

/** Dedup key: the same id of two accounts is two jobs (the store's own key form). */
export const jobKey: (job: MediaKey) => string = keyPath;

/** The receiving side of the routes: the in-process queue, or a Cloudflare Queue producer. */
export interface PrefetchIntake {
  /**
   * Accepts `jobs` all together or not at all (ProxyError queue_full). With `checkStored`, ids
   * already stored are answered `stored` and not queued. `settled` resolves when the accepted jobs
   * have run (Workers pass it to ctx.waitUntil; Node ignores it).
   */
  accept(jobs: readonly PrefetchJob[], options?: { readonly checkStored?: boolean }): Promise<{ readonly states: readonly JobState[]; readonly settled: Promise<void> }>;
}
