import type { ByteRange, TierWriter } from '../cache/media-tier.js';

export interface SharedDownloadOptions<W extends TierWriter> {
  /**
   * The verified body (src/media/guard-body.ts): it errors on a reset, a truncation or a mismatch, and
   * holds its last chunk back until the sha256 matched, so whatever reaches a reader before the end is
   * never the whole file, and a failure aborts every reader before its last byte.
   */
  readonly source: ReadableStream<Uint8Array>;
  readonly size: number;
  /** Every tier taking a copy. Each is committed when the body ended verified, aborted otherwise. */
  readonly writers: readonly W[];
  /**
   * Keep every chunk until the end, so a caller joining late replays the bytes so far. Otherwise
   * chunks every reader has passed are dropped once the first `windowBytes` are in (a caller joining
   * before that still replays from byte 0), and the download runs at most `windowBytes` ahead of its
   * slowest reader: memory stays bounded whatever the file size.
   */
  readonly retainAll: boolean;
  readonly windowBytes: number;
  /** A tier failed to take its copy: the readers go on (the store failing never fails a request). */
  readonly onWriterFailed: (writer: W, error: unknown) => void;
  /** A caller is about to attach: do not take "no reader and no tier" for "everybody left" until one did. */
  readonly awaitFirstReader: boolean;
}

export interface DownloadOutcome<W extends TierWriter = TierWriter> {
  /** Writers that committed (the others failed and were reported). */
  readonly committed: readonly W[];
}

interface Reader {
  position: number;
  /** Exclusive. */
  readonly end: number;
}

/**
 * How far the download reads ahead of its slowest reader although nobody waits yet (at most the
 * window): the next CDN read then overlaps the socket write of the chunk before, as a pipe does.
 */
const READ_AHEAD_BYTES = 512 * 1024;

/** A range starting this far past the bytes received so far is better fetched as its own CDN range. */
const JOIN_AHEAD_BYTES = 1024 * 1024;

/**
 * One CDN download feeding every reader and every tier: callers read the bytes as they arrive (a late
 * one replays what came before, then follows), while the same bytes fill the store and memory. A
 * reader leaving never fails the others; a failed source fails every reader and commits nothing.
 */
export class SharedDownload<W extends TierWriter = TierWriter> {
  readonly done: Promise<DownloadOutcome<W>>;
  private readonly chunks: Uint8Array[] = [];
  /** Byte offset of chunks[0] in the file (earlier chunks were dropped). */
  private retainedFrom = 0;
  private received = 0;
  private failure: unknown;
  private readonly readers = new Set<Reader>();
  private writers: W[];
  private wakeReaders: Array<() => void> = [];
  private wakePump: (() => void) | undefined;
  private attachedOnce = false;
  /** Resolves once a reader first asks for bytes, or a task later (see pump). */
  private readonly firstAsk: Promise<void> | undefined;
  private onFirstAsk: (() => void) | undefined;
  private readonly sourceReader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(private readonly options: SharedDownloadOptions<W>) {
    this.writers = [...options.writers];
    this.sourceReader = options.source.getReader();
    if (options.awaitFirstReader) {
      this.firstAsk = new Promise((resolve) => {
        this.onFirstAsk = resolve;
        setTimeout(resolve, 0);
      });
    }
    this.done = this.pump();
    // Readers see the failure through their own streams; nobody has to observe this one.
    this.done.catch(() => {});
  }

  /** Bytes that reached the download so far (for tests and logs). */
  get receivedBytes(): number {
    return this.received;
  }

  /**
   * A stream of the file (or one range of it) from this download, or undefined when the bytes it
   * needs were already dropped or lie too far ahead: the caller then fetches on its own.
   */
  attach(range?: ByteRange): ReadableStream<Uint8Array> | undefined {
    const start = range?.start ?? 0;
    const end = range ? range.end + 1 : this.options.size;
    if (this.failure !== undefined || start < this.retainedFrom || start > this.received + JOIN_AHEAD_BYTES) return undefined;
    const reader: Reader = { position: start, end };
    this.readers.add(reader);
    this.attachedOnce = true;
    return new ReadableStream<Uint8Array>(
      {
        pull: (controller) => this.serve(reader, controller),
        cancel: () => {
          this.readers.delete(reader);
          this.nudgePump();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Erasure while downloading: the readers go on, but no tier keeps a copy. */
  dropWriters(): void {
    const writers = this.writers;
    this.writers = [];
    for (const writer of writers) void writer.abort(new Error('erased while downloading'));
  }

  private async serve(reader: Reader, controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    this.onFirstAsk?.();
    for (;;) {
      if (this.failure !== undefined) {
        this.readers.delete(reader);
        return controller.error(this.failure);
      }
      if (reader.position >= reader.end) {
        this.readers.delete(reader);
        this.nudgePump();
        return controller.close();
      }
      const slice = this.sliceAt(reader.position, reader.end);
      if (slice !== undefined) {
        reader.position += slice.byteLength;
        this.nudgePump();
        return controller.enqueue(slice);
      }
      await new Promise<void>((resolve) => {
        this.wakeReaders.push(resolve);
        this.nudgePump();
      });
    }
  }

  /** The retained bytes from `position`, up to one chunk and never past `end`. */
  private sliceAt(position: number, end: number): Uint8Array | undefined {
    if (position >= this.received) return undefined;
    let offset = this.retainedFrom;
    for (const chunk of this.chunks) {
      if (position < offset + chunk.byteLength) {
        const from = position - offset;
        return chunk.subarray(from, Math.min(chunk.byteLength, end - offset));
      }
      offset += chunk.byteLength;
    }
    return undefined;
  }

  private async pump(): Promise<DownloadOutcome<W>> {
    try {
      // The caller that started the download gets its answer's headers out before the first chunk is
      // read: the chunk's sha256, its copies into the tiers and their writes would otherwise run
      // first, on the caller's time to first byte. Its runtime reads the body right after the
      // headers; a task later the download goes on regardless (the tiers want the file).
      await this.firstAsk;
      for (;;) {
        await this.demand();
        // With every byte in (the source releases its last chunk only once verified), read on to its end.
        if (this.readers.size === 0 && this.writers.length === 0 && this.received < this.options.size) {
          // Nobody wants the rest: stop the transfer instead of finishing it for nothing.
          const reason = new Error('every reader left');
          await this.sourceReader.cancel(reason).catch(() => {});
          throw reason;
        }
        const { done, value } = await this.sourceReader.read();
        if (done) break;
        this.chunks.push(value);
        this.received += value.byteLength;
        this.wake();
        await Promise.all(this.writers.map((writer) => writer.write(value).catch((error: unknown) => this.dropWriter(writer, error))));
        this.dropPassedChunks();
      }
    } catch (error) {
      this.failure = error;
      const writers = this.writers;
      this.writers = [];
      await Promise.all(writers.map((writer) => writer.abort(error)));
      this.wake();
      throw error;
    }
    this.wake();
    const writers = this.writers;
    const outcomes = await Promise.all(writers.map((writer) => writer.commit().then(() => writer, (error: unknown) => (this.options.onWriterFailed(writer, error), undefined))));
    return { committed: outcomes.filter((w): w is Awaited<W> & W => w !== undefined) };
  }

  /** Resolves when the download should read on: a tier wants bytes, or a reader waits within the window. */
  private async demand(): Promise<void> {
    for (;;) {
      const waitingForFirst = this.options.awaitFirstReader && !this.attachedOnce;
      if (this.readers.size === 0 && this.writers.length === 0 && !waitingForFirst) return;
      const slowest = this.slowestReader();
      const ahead = slowest === undefined ? 0 : this.received - slowest;
      const withinWindow = this.options.retainAll || ahead < this.options.windowBytes;
      const readAhead = slowest !== undefined && ahead < Math.min(READ_AHEAD_BYTES, this.options.windowBytes);
      if (withinWindow && (this.writers.length > 0 || this.wakeReaders.length > 0 || readAhead)) return;
      await new Promise<void>((resolve) => (this.wakePump = resolve));
    }
  }

  private slowestReader(): number | undefined {
    let slowest: number | undefined;
    for (const reader of this.readers) if (slowest === undefined || reader.position < slowest) slowest = reader.position;
    return slowest;
  }

  private dropPassedChunks(): void {
    // Until its first window is in, a download keeps every byte: callers arriving together (a group
    // chat opening one document) join it from byte 0 instead of each starting a CDN download and a
    // sha256 of their own. On loopback 2 MiB came in before the fourth of four callers released at
    // once arrived; a real CDN is slower still. It costs no more than the window a slow reader may
    // hold anyway, and less than a retained file (every file up to 16 MiB is kept whole).
    if (this.options.retainAll || this.received <= this.options.windowBytes) return;
    const keepFrom = this.slowestReader() ?? this.received;
    while (this.chunks.length > 0 && this.retainedFrom + this.chunks[0]!.byteLength <= keepFrom) {
      this.retainedFrom += this.chunks.shift()!.byteLength;
    }
  }

  private dropWriter(writer: W, error: unknown): void {
    this.writers = this.writers.filter((w) => w !== writer);
    void writer.abort(error);
    this.options.onWriterFailed(writer, error);
  }

  private wake(): void {
    const waiting = this.wakeReaders;
    this.wakeReaders = [];
    for (const resolve of waiting) resolve();
    this.nudgePump();
  }

  private nudgePump(): void {
    const resolve = this.wakePump;
    this.wakePump = undefined;
    resolve?.();
  }
}
