/**
 * The Graph side of the fake (fake-whatsapp.ts): `GET /{version}/{id}` with the business bearer token
 * answers `url`, `mime_type`, `sha256`, `file_size` (optionally as a numeric string); unknown ids, and
 * another account's, answer error 100/33, a wrong token 190; scripted replies answer instead, as a
 * test tells them to (errors, delays, resets, stalled bodies).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sha256Hex, type FakeMedia } from './fake-media.js';
import { sleep, type FakeNetwork } from './fake-network.js';

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

/** What a Graph lookup reads of the fake's state, at the moment it needs it. */
export interface GraphSide {
  /** The next scripted reply for `id`, else for any id ('*'), taken off its script. */
  takeReply(id: string): GraphReply | undefined;
  network(): FakeNetwork;
  /** Every business token Graph accepts (one per account). */
  readonly tokens: ReadonlySet<string>;
  /** The fake's own token: the owner of media added without one. */
  readonly token: string;
  media(id: string): FakeMedia | undefined;
  /** The `url` Graph answers for `id`: an override, else a lookaside URL signed now. */
  urlFor(id: string): string;
}

export function graphError(code: number, extra: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  return { error: { message: `(#${code}) fake Graph error`, type: 'OAuthException', code, fbtrace_id: 'AbCdEfGh123', ...extra } };
}

export async function answerLookup(graph: GraphSide, req: IncomingMessage, res: ServerResponse, id: string, url: URL): Promise<void> {
  const script = graph.takeReply(id);
  const { latencyMs } = graph.network();
  if (latencyMs) await sleep(latencyMs);
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
  if (bearer === undefined || !graph.tokens.has(bearer)) {
    return json(res, 401, graphError(190, { message: 'Invalid OAuth access token - Cannot parse access token' }));
  }
  if (url.searchParams.has('phone_number_id')) {
    return json(res, 400, graphError(100, { message: 'Param phone_number_id is not a valid whatsapp business phone number id ID' }));
  }
  const media = graph.media(id);
  // Another account's media looks exactly like media that does not exist.
  if (!media || (media.owner ?? graph.token) !== bearer) {
    return json(res, 400, graphError(100, { error_subcode: 33, message: `Unsupported get request. Object with ID '${id}' does not exist` }));
  }
  const size = media.announcedSize ?? media.bytes.byteLength;
  json(res, 200, {
    messaging_product: 'whatsapp',
    url: graph.urlFor(id),
    mime_type: media.mimeType,
    sha256: media.announcedSha256 ?? sha256Hex(media.bytes),
    file_size: media.fileSizeAsString ? String(size) : size,
    id,
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
}
