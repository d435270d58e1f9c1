/**
 * The lookaside CDN side of the fake (fake-whatsapp.ts), quirks of the real one included:
 * - the URL is signed (`hash`) and expires 5 minutes after issue (fake clock), after which it answers
 *   404 with an HTML page;
 * - it needs the same bearer token and a User-Agent: without one, or with Node's default "node", it
 *   answers 200 text/html "Sorry, this content isn't available right now";
 * - Range (206, 416), Accept-Ranges, Content-Length;
 * - scripted faults: trickling, stalling and resetting bodies, corrupt bytes, redirects, error pages;
 * - bodies paced to the fake's bandwidth (fake-network.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeMedia } from './fake-media.js';
import { PACED_CHUNK_BYTES, sleep, type FakeNetwork } from './fake-network.js';

export interface DownloadFault {
  /** Send this many bytes per write, waiting `delayMs` between writes. */
  readonly trickle?: { readonly chunkBytes: number; readonly delayMs: number };
  /** After this many body bytes, stop sending but keep the connection open. */
  readonly stallAfterBytes?: number;
  /** After this many body bytes, destroy the socket (connection reset mid-body). */
  readonly resetAfterBytes?: number;
  /** Serve these bytes instead of the real ones (same length: a checksum mismatch). */
  readonly corrupt?: boolean;
  /** Wait this long before sending the response headers. */
  readonly headerDelayMs?: number;
  /** Answer only once this settles: lets a test order requests without timing them. */
  readonly holdUntil?: Promise<unknown>;
  /** Answer with this status and an HTML page. */
  readonly status?: number;
  /** Answer a redirect to this absolute URL (the proxy must check it before following). */
  readonly redirectTo?: string;
  /** Ignore Range and answer 200 with the whole file. */
  readonly ignoreRange?: boolean;
}

/** The fake's counters the CDN keeps up to date. */
export interface DownloadCounters {
  /** Bytes the CDN has written, all downloads together. */
  cdnBytesSent: number;
  /** CDN responses that are still sending. */
  openDownloads: number;
}

/** What a CDN download reads of the fake's state, at the moment it needs it. */
export interface CdnSide {
  /** The fault for this download of `id`: the next scripted one, else the persistent one, else none. */
  takeFault(id: string): DownloadFault;
  network(): FakeNetwork;
  /** The fake's own token: the owner of media added without one, and of unknown ids. */
  readonly token: string;
  media(id: string): FakeMedia | undefined;
  /** The `hash` a lookaside URL for `id` expiring at `ext` carries. */
  signature(id: string, ext: string): string;
  /** The fake's clock, ms. */
  now(): number;
  readonly counters: DownloadCounters;
}

const UNAVAILABLE_HTML = '<!DOCTYPE html><html><head><title>Error</title></head><body>Sorry, this content isn\'t available right now</body></html>';

export async function answerDownload(cdn: CdnSide, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const id = url.searchParams.get('mid') ?? '';
  const ext = url.searchParams.get('ext') ?? '';
  const hash = url.searchParams.get('hash') ?? '';
  const fault = cdn.takeFault(id);
  const { latencyMs, bytesPerSecond } = cdn.network();
  if (latencyMs) await sleep(latencyMs);
  if (fault.headerDelayMs) await sleep(fault.headerDelayMs);
  if (fault.holdUntil) await fault.holdUntil;
  if (fault.redirectTo) {
    res.writeHead(302, { location: fault.redirectTo }).end();
    return;
  }
  // The real CDN serves an HTML error page, with 200, to clients that send no User-Agent.
  const ua = req.headers['user-agent'];
  if (ua === undefined || ua === '' || ua === 'node') return html(res, 200, UNAVAILABLE_HTML);
  const owner = cdn.media(id)?.owner ?? cdn.token;
  if (req.headers.authorization !== `Bearer ${owner}`) return html(res, 401, UNAVAILABLE_HTML);
  if (fault.status) return html(res, fault.status, UNAVAILABLE_HTML);
  if (hash === '' || hash !== cdn.signature(id, ext)) return html(res, 403, UNAVAILABLE_HTML);
  if (!/^\d+$/.test(ext) || Number(ext) <= cdn.now()) return html(res, 404, UNAVAILABLE_HTML);
  const media = cdn.media(id);
  if (!media) return html(res, 404, UNAVAILABLE_HTML);

  let bytes = media.bytes;
  if (fault.corrupt) {
    bytes = new Uint8Array(bytes);
    if (bytes.length > 0) bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
  }
  const size = bytes.byteLength;
  let status = 200;
  let start = 0;
  let end = size - 1;
  const headers: Record<string, string | number> = { 'content-type': media.mimeType, 'accept-ranges': 'bytes' };
  const range = req.headers.range;
  if (range !== undefined && !fault.ignoreRange) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(0, size - Number(m[2]));
      } else {
        start = Number(m[1]);
        end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      }
      if (start >= size || start > end) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  const body = bytes.subarray(start, end + 1);
  headers['content-length'] = body.byteLength;
  res.writeHead(status, headers);
  if (req.method === 'HEAD') return void res.end();
  await sendBody(res, body, fault, bytesPerSecond, cdn.counters);
}

async function sendBody(res: ServerResponse, body: Uint8Array, fault: DownloadFault, bytesPerSecond: number | undefined, counters: DownloadCounters): Promise<void> {
  counters.openDownloads++;
  try {
    const paced = fault.trickle === undefined && bytesPerSecond !== undefined;
    const chunkBytes = fault.trickle?.chunkBytes ?? (paced ? PACED_CHUNK_BYTES : 64 * 1024);
    const started = performance.now();
    let offset = 0;
    while (offset < body.byteLength) {
      if (res.destroyed) return;
      if (fault.resetAfterBytes !== undefined && offset >= fault.resetAfterBytes) {
        res.socket?.destroy();
        return;
      }
      if (fault.stallAfterBytes !== undefined && offset >= fault.stallAfterBytes) {
        // Hold the connection open, sending nothing, until the client gives up.
        await new Promise<void>((resolve) => res.once('close', resolve));
        return;
      }
      let limit = chunkBytes;
      if (fault.resetAfterBytes !== undefined) limit = Math.min(limit, fault.resetAfterBytes - offset);
      if (fault.stallAfterBytes !== undefined) limit = Math.min(limit, fault.stallAfterBytes - offset);
      // Paced against the start, not chunk to chunk, so timer lateness does not add up: a chunk
      // leaves once the bytes before it have had their time at `bytesPerSecond`.
      if (paced) {
        const due = started + (offset / bytesPerSecond) * 1000 - performance.now();
        if (due >= 1) await sleep(due);
        if (res.destroyed) return;
      }
      const chunk = body.subarray(offset, offset + Math.max(1, limit));
      offset += chunk.byteLength;
      counters.cdnBytesSent += chunk.byteLength;
      const flushed = res.write(chunk);
      if (fault.trickle) await sleep(fault.trickle.delayMs);
      else if (!flushed) await drainOrClose(res);
    }
    if (fault.resetAfterBytes !== undefined && offset >= fault.resetAfterBytes) {
      res.socket?.destroy();
      return;
    }
    res.end();
  } finally {
    counters.openDownloads--;
  }
}

function html(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(text);
}

/** Waits for 'drain' or 'close', removing both listeners after either, so none pile up per chunk. */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
