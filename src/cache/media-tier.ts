/**
 * One interface for every place verified media bytes live: the per-process memory LRU, the Workers
 * edge cache, and the persistent store (a directory, an S3-compatible bucket, an R2 binding).
 *
 * A tier answers a range as a stream (reading only that range) and accepts a stream as it is being
 * verified: the download writes each chunk to every tier as it arrives and commits only after the
 * whole body matched Graph's sha256 and file_size. A tier must make nothing readable before commit,
 * so a reset, a truncation, a mismatch or a crash mid-write leaves nothing a later request can read.
 *
 * Keys are `<account>/<media id>`: never a token, never the expiring CDN URL.
 */

export interface MediaMeta {
  readonly id: string;
  /** Content-Type to serve: Graph's `mime_type`, sanitised. */
  readonly mimeType: string;
  /** Lower-case hex SHA-256 of the bytes, from Graph; the ETag derives from it. */
  readonly sha256: string;
  readonly size: number;
}

/** Which business account a media id belongs to; `default` is WHATSAPP_TOKEN's. */
export interface MediaKey {
  readonly account: string;
  readonly id: string;
}

/** The one string form of a key, for maps, object names and file paths. */
export function keyPath(key: MediaKey): string {
  return `${key.account}/${key.id}`;
}

/** Inclusive byte offsets, as in HTTP ranges. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Lets a tier finish work after the response was sent (Workers' ctx.waitUntil; Node: fire and forget). */
export interface Background {
  waitUntil(promise: Promise<unknown>): void;
}

export const inlineBackground: Background = {
  waitUntil(promise) {
    promise.catch(() => {});
  },
};

/** A file a tier holds. */
export interface TierHit {
  readonly meta: MediaMeta;
  /** The whole file when the tier holds it in memory: answered by slicing, no stream. */
  readonly bytes?: Uint8Array<ArrayBuffer>;
  /**
   * The file, or one range of it, as a stream that reads only that range (a file read from an
   * offset, a ranged GET). Rejects when the entry vanished or is unreadable since `get`.
   */
  open(range: ByteRange | undefined): Promise<ReadableStream<Uint8Array>>;
  /**
   * Present while the tier cannot vouch for the bytes: a stored file this process did not write
   * (found at start, or written by another process), which a disk error or a copied-in store may
   * have changed since. Such a hit is read through the sha256 guard (checked-read.ts), and the first
   * whole read that matched calls this, so later hits are read as they are.
   */
  readonly confirm?: () => void;
}

/** A hit on bytes held in memory: sliced for a range, never copied. */
export function bytesHit(meta: MediaMeta, bytes: Uint8Array<ArrayBuffer>): TierHit & { readonly bytes: Uint8Array<ArrayBuffer> } {
  return {
    meta,
    bytes,
    open: async (range) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(range ? bytes.subarray(range.start, range.end + 1) : bytes);
          controller.close();
        },
      }),
  };
}

/** A copy being taken. Chunks arrive in order; nothing is readable before commit(). */
export interface TierWriter {
  /** Resolves when the tier can take the next chunk (backpressure). Rejects when the write failed. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Offered by a tier that holds the bytes in this process's memory: does what `write` does,
   * synchronously, and answers the tier's own copy of the chunk, for the tiers after it to write
   * from (MediaCache.writers).
   */
  keep?(chunk: Uint8Array): Uint8Array;
  /** The body ended and matched Graph's sha256 and size: make it readable, atomically. */
  commit(): Promise<void>;
  /** Discard everything written. Never throws. */
  abort(reason?: unknown): Promise<void>;
}

export interface MediaTier {
  /** Short name for logs and metrics: "memory", "edge", "store". */
  readonly name: string;
  /** A missing, unreadable or malformed entry is undefined (and a malformed one is removed). */
  get(key: MediaKey): Promise<TierHit | undefined> | TierHit | undefined;
  /** Starts a copy of `meta`'s bytes; undefined when this tier does not take this file (too large, off). */
  put(key: MediaKey, meta: MediaMeta, background: Background): TierWriter | undefined;
  /** Removes the entry; resolves also when there was none. */
  delete(key: MediaKey, background: Background): Promise<void>;
}

/** The persistent tier: a directory, an S3-compatible bucket or an R2 binding. */
export interface StoreTier extends MediaTier {
  /** For /healthz and the start log line: which store, never a credential or a path. */
  readonly kind: 'directory' | 's3' | 'r2';
  /** What a bounded store holds now (the directory store); undefined where the bucket bounds itself. */
  fill?(): { readonly bytes: number; readonly entries: number; readonly maxBytes: number };
  /** Stops timers and releases handles (Node shutdown, tests). */
  close?(): Promise<void>;
}
