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
 *
 * This file holds the server, its state and the scripting API, and exports every name the fake's
 * users import; the Graph answers are in fake-graph.ts, the CDN's in fake-cdn.ts, the network shape
 * in fake-network.ts and the media model in fake-media.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { answerDownload, type CdnSide, type DownloadFault } from './fake-cdn.js';
import { answerLookup, type GraphReply, type GraphSide } from './fake-graph.js';
import type { FakeMedia } from './fake-media.js';
import { validNetwork, type FakeNetwork } from './fake-network.js';

export { type DownloadFault } from './fake-cdn.js';
export { graphError, type GraphReply } from './fake-graph.js';
export { makeBytes, sha256Hex, type FakeMedia } from './fake-media.js';
export { PACED_CHUNK_BYTES, type FakeNetwork } from './fake-network.js';

export const FAKE_TOKEN = `fake-business-token-${randomBytes(6).toString('hex')}`;
export const URL_LIFETIME_MS = 5 * 60_000;

export interface FakeWhatsAppOptions {
  readonly network?: FakeNetwork;
}

export interface SeenRequest {
  readonly kind: 'graph' | 'cdn' | 'other';
  readonly method: string;
  readonly path: string;
  readonly mediaId: string | undefined;
  readonly headers: IncomingMessage['headers'];
}

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
  /** What the Graph answers (fake-graph.ts) and the CDN answers (fake-cdn.ts) read of this state. */
  private readonly graph: GraphSide = {
    takeReply: (id) => this.graphScript.get(id)?.shift() ?? this.graphScript.get('*')?.shift(),
    network: () => this.network,
    tokens: this.tokens,
    token: this.token,
    media: (id) => this.media.get(id),
    urlFor: (id) => this.urlOverrides.get(id) ?? this.signedUrl(id),
  };

  private readonly cdn: CdnSide = {
    takeFault: (id) => this.downloadScript.get(id)?.shift() ?? this.persistentFaults.get(id) ?? {},
    network: () => this.network,
    token: this.token,
    media: (id) => this.media.get(id),
    signature: (id, ext) => this.sign(id, ext),
    now: () => this.now,
    counters: this,
  };

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
      return answerDownload(this.cdn, req, res, url);
    }
    if (graphMatch) {
      const id = decodeURIComponent(graphMatch[2]!);
      this.requests.push({ kind: 'graph', method: req.method ?? '', path: url.pathname, mediaId: id, headers: req.headers });
      return answerLookup(this.graph, req, res, id, url);
    }
    this.requests.push({ kind: 'other', method: req.method ?? '', path: url.pathname, mediaId: undefined, headers: req.headers });
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}
