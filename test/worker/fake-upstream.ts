/**
 * Drives the fake Graph + CDN (started in Node by test/support/worker-global-setup.ts) from inside
 * workerd, over its loopback control endpoint; and mints caller tokens with the Worker's secret.
 */
import { env } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { inject } from 'vitest';
import { toHex } from '../../src/hash.js';
import type { AddMediaCommand, AddedMedia, DeleteMediaCommand, EchoedBody, ScriptGraphCommand, SeenUpstreamRequest, TrickleDownloadCommand } from '../support/fake-control-protocol.js';

const info = inject('fakeUpstream');

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${info.control}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (!res.ok) throw new Error(`fake control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export const fakeUpstream = {
  addMedia: (command: AddMediaCommand) => call<AddedMedia>('POST', '/media', command),
  /** Meta forgets the id: Graph answers it with "unknown object" (100/33), the CDN with 404. */
  deleteMedia: (id: string) => call<object>('POST', '/delete-media', { id } satisfies DeleteMediaCommand),
  /** The next CDN download of the id sends `chunkBytes` at a time, `delayMs` apart. */
  trickleDownload: (command: TrickleDownloadCommand) => call<object>('POST', '/trickle-download', command),
  /** Moves the fake's clock: lookaside URLs issued earlier expire after 5 minutes. */
  advance: (ms: number) => call<object>('POST', '/advance', { ms }),
  scriptGraph: (id: string, ...replies: ScriptGraphCommand['replies']) => call<object>('POST', '/script-graph', { id, replies }),
  requests: (id: string) => call<SeenUpstreamRequest[]>('GET', `/requests?id=${encodeURIComponent(id)}`),
  /** Sends a body over a real HTTP hop and reports whether workerd knew its length. */
  async echo(body: ReadableStream<Uint8Array> | null): Promise<EchoedBody> {
    const res = await fetch(`${info.control}/echo`, { method: 'POST', body });
    return (await res.json()) as EchoedBody;
  },
  async count(kind: SeenUpstreamRequest['kind'], id: string): Promise<number> {
    return (await this.requests(id)).filter((r) => r.kind === kind).length;
  },
};

export function callerToken(claims: Record<string, unknown> = { media: '*' }, options: { ttlSeconds?: number; secret?: string } = {}): Promise<string> {
  const secret = new TextEncoder().encode(options.secret ?? String(env.JWT_SECRET));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + (options.ttlSeconds ?? 600)).sign(secret);
}

export async function sha256Hex(bytes: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}
