/**
 * A fake Graph API + lookaside CDN on 127.0.0.1 (port 0), behaving like the real service as described
 * in shared/graph-media-api.md, quirks included:
 * - `GET /{version}/{id}` with the business bearer token answers `url`, `mime_type`, `sha256`,
 *   `file_size` (optionally as a numeric string); unknown ids answer error 100/33, a wrong token 190;
 * - the lookaside URL is signed (`hash`) and expires 5 minutes after issue (fake clock), after which
 *   it answers 404 with an HTML page;
 * - the CDN needs the same bearer token and a User-Agent: without one, or with Node's default "node",
 *   it answers 200 text/html "Sorry, this content isn't available right now";
 * - Range (206, 416), Accept-Ranges, Content-Length;
 * - scripted faults: Graph errors, trickling, stalling and resetting bodies, corrupt bytes, redirects;
 * - a network shape (`FakeNetwork`): a latency before every Graph answer and every CDN answer's
 *   headers, and a bandwidth the CDN paces bodies to, so loopback can stand in for a real upstream.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const FAKE_TOKEN = `fake-business-token-${randomBytes(6).toString('hex')}`;
export const URL_LIFETIME_MS = 5 * 60_000;

export interface FakeMedia {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  /** Graph sends file_size as a number or a numeric string. */
  readonly fileSizeAsString?: boolean;
  /** Announce a different sha256 than the bytes have (integrity failure). */
  readonly announcedSha256?: string;
  /** Announce a different file_size than the bytes have. */
  readonly announcedSize?: number;
  /**
   * The business token whose account owns this media (default: the fake's own token). Like the real
   * Graph, another account's token gets error 100/33 for it, and the CDN refuses its download.
   */
  readonly owner?: string;
}

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

export interface GraphReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Destroy the connection instead of answering (a network error before any byte). */
  readonly reset?: boolean;
  /** Send the headers, then nothing (a stalled body). */
  readonly stallBody?: boolean;
}

/**
 * How far away the fake seems. Loopback answers in well under a millisecond at gigabytes per second;
 * the real Graph and CDN answer after tens of milliseconds and send at tens of MB/s, which is what
 * decides whether a proxy's first byte waits for the whole file.
 */
export interface FakeNetwork {
  /** Wait this long before each Graph answer and before each CDN answer's headers, ms. */
  readonly latencyMs?: number;
  /** Send CDN bodies at this many bytes per second (paced writes); unset: as fast as the socket takes. */
  readonly bytesPerSecond?: number;
}

export interface FakeWhatsAppOptions {
  readonly network?: FakeNetwork;
}

/** Paced bodies go out in chunks of this size: big enough for few timers, small enough to be smooth. */
export const PACED_CHUNK_BYTES = 32 * 1024;

export interface SeenRequest {
  readonly kind: 'graph' | 'cdn' | 'other';
  readonly method: string;
  readonly path: string;
  readonly mediaId: string | undefined;
  readonly headers: IncomingMessage['headers'];
}

export function graphError(code: number, extra: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  return { error: { message: `(#${code}) fake Graph error`, type: 'OAuthException', code, fbtrace_id: 'AbCdEfGh123', ...extra } };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Deterministic pseudo-random bytes, so failures reproduce. */
export function makeBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const UNAVAILABLE_HTML = '<!DOCTYPE html><html><head><title>Error</title></head><body>Sorry, this content isn\'t available right now</body></html>';

export class FakeWhatsApp {
  readonly token = FAKE_TOKEN;
  /** Every business token Graph accepts (one per account); see addAccount. */
  private readonly tokens = new Set<string>([FAKE_TOKEN]);
  /** The fake's own clock, ms. Advance it to expire issued URLs. */
  now = 1_700_000_000_000;
  readonly requests: SeenRequest[] = [];
  private readonly media = new Map<string, FakeMedia>();
  private readonly graphScript = new Map<string, GraphReply[]>();
  private readonly downloadScript = new Map<string, DownloadFault[]>();
  private readonly persistentFaults = new Map<string, DownloadFault>();
  private readonly urlOverrides = new Map<string, string>();
  private readonly signingKey = randomBytes(16);
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private base = '';
  /** Bytes the CDN has written, all downloads together (to prove aborts stop transfers). */
  cdnBytesSent = 0;
  /** CDN responses that are still sending. */
  openDownloads = 0;
  private network: FakeNetwork;

  constructor(options: FakeWhatsAppOptions = {}) {
    this.network = validNetwork(options.network ?? {});
  }

  get origin(): string {
    return this.base;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.base = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  addMedia(id: string, media: FakeMedia): this {
    this.media.set(id, media);
    return this;
  }

  /** A second business account: its token is accepted, and media added with `owner: token` is its own. */
  addAccount(token: string): this {
    this.tokens.add(token);
    return this;
  }

  deleteMedia(id: string): this {
    this.media.delete(id);
    return this;
  }

  /** The next Graph lookups of `id` (or of any id, with '*') answer these, in order. */
  scriptGraph(id: string, ...replies: GraphReply[]): this {
    this.graphScript.set(id, [...(this.graphScript.get(id) ?? []), ...replies]);
    return this;
  }

  /** The next CDN downloads of `id` misbehave like this, in order. */
  scriptDownload(id: string, ...faults: DownloadFault[]): this {
    this.downloadScript.set(id, [...(this.downloadScript.get(id) ?? []), ...faults]);
    return this;
  }

  /** Every download of `id` misbehaves like this until cleared. */
  setDownloadFault(id: string, fault: DownloadFault | undefined): this {
    if (fault) this.persistentFaults.set(id, fault);
    else this.persistentFaults.delete(id);
    return this;
  }

  /** Graph answers this `url` for `id` instead of a signed lookaside URL. */
  overrideUrl(id: string, url: string): this {
    this.urlOverrides.set(id, url);
    return this;
  }

  /** Changes the latency and bandwidth for every answer from now on (a download under way keeps its pace). */
  setNetwork(network: FakeNetwork): this {
    this.network = validNetwork(network);
    return this;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  count(kind: SeenRequest['kind'], mediaId?: string): number {
    return this.requests.filter((r) => r.kind === kind && (mediaId === undefined || r.mediaId === mediaId)).length;
  }

  /** A signed lookaside URL for `id`, issued now. */
  signedUrl(id: string, issuedAt = this.now): string {
    const ext = String(issuedAt + URL_LIFETIME_MS);
    const hash = this.sign(id, ext);
    return `${this.base}/whatsapp_business/attachments/?mid=${id}&ext=${ext}&hash=${hash}`;
  }

  private sign(id: string, ext: string): string {
    return createHmac('sha256', this.signingKey).update(`${id}:${ext}`).digest('base64url');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const graphMatch = /^\/(v\d+\.\d+)\/([^/]+)$/.exec(url.pathname);
    if (url.pathname === '/whatsapp_business/attachments/') {
      this.requests.push({ kind: 'cdn', method: req.method ?? '', path: url.pathname, mediaId: url.searchParams.get('mid') ?? undefined, headers: req.headers });
      return this.download(req, res, url);
    }
    if (graphMatch) {
      const id = decodeURIComponent(graphMatch[2]!);
      this.requests.push({ kind: 'graph', method: req.method ?? '', path: url.pathname, mediaId: id, headers: req.headers });
      return this.lookup(req, res, id, url);
    }
    this.requests.push({ kind: 'other', method: req.method ?? '', path: url.pathname, mediaId: undefined, headers: req.headers });
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  private async lookup(req: IncomingMessage, res: ServerResponse, id: string, url: URL): Promise<void> {
    const script = this.graphScript.get(id)?.shift() ?? this.graphScript.get('*')?.shift();
    if (this.network.latencyMs) await sleep(this.network.latencyMs);
    if (script) {
      if (script.delayMs) await sleep(script.delayMs);
      if (script.reset) return void req.socket.destroy();
      if (script.stallBody) {
        res.writeHead(script.status, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"url":');
        return;
      }
      return json(res, script.status, script.body, script.headers);
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !this.tokens.has(bearer)) {
      return json(res, 401, graphError(190, { message: 'Invalid OAuth access token - Cannot parse access token' }));
    }
    if (url.searchParams.has('phone_number_id')) {
      return json(res, 400, graphError(100, { message: 'Param phone_number_id is not a valid whatsapp business phone number id ID' }));
    }
    const media = this.media.get(id);
    // Another account's media looks exactly like media that does not exist.
    if (!media || (media.owner ?? this.token) !== bearer) {
      return json(res, 400, graphError(100, { error_subcode: 33, message: `Unsupported get request. Object with ID '${id}' does not exist` }));
    }
    const size = media.announcedSize ?? media.bytes.byteLength;
    json(res, 200, {
      messaging_product: 'whatsapp',
      url: this.urlOverrides.get(id) ?? this.signedUrl(id),
      mime_type: media.mimeType,
      sha256: media.announcedSha256 ?? sha256Hex(media.bytes),
      file_size: media.fileSizeAsString ? String(size) : size,
      id,
    });
  }

  private async download(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = url.searchParams.get('mid') ?? '';
    const ext = url.searchParams.get('ext') ?? '';
    const hash = url.searchParams.get('hash') ?? '';
    const fault = this.downloadScript.get(id)?.shift() ?? this.persistentFaults.get(id) ?? {};
    const { latencyMs, bytesPerSecond } = this.network;
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
    const owner = this.media.get(id)?.owner ?? this.token;
    if (req.headers.authorization !== `Bearer ${owner}`) return html(res, 401, UNAVAILABLE_HTML);
    if (fault.status) return html(res, fault.status, UNAVAILABLE_HTML);
    if (hash === '' || hash !== this.sign(id, ext)) return html(res, 403, UNAVAILABLE_HTML);
    if (!/^\d+$/.test(ext) || Number(ext) <= this.now) return html(res, 404, UNAVAILABLE_HTML);
    const media = this.media.get(id);
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
    await this.sendBody(res, body, fault, bytesPerSecond);
  }

  private async sendBody(res: ServerResponse, body: Uint8Array, fault: DownloadFault, bytesPerSecond: number | undefined): Promise<void> {
    this.openDownloads++;
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
        this.cdnBytesSent += chunk.byteLength;
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
      this.openDownloads--;
    }
  }
}

function validNetwork(network: FakeNetwork): FakeNetwork {
  const { latencyMs, bytesPerSecond } = network;
  if (latencyMs !== undefined && !(latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`);
  if (bytesPerSecond !== undefined && !(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be > 0, got ${bytesPerSecond}`);
  return { ...network };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
