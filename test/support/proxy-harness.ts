/**
 * Starts the real app on @hono/node-server at 127.0.0.1:0 against a FakeWhatsApp, with an injected
 * clock and captured log lines. Tests talk to it over real HTTP.
 */
import { serve, type ServerType } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { createApp, type AppDeps, type ProxyApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createJsonLogger } from '../../src/logger.js';
import { noopMetrics } from '../../src/metrics.js';
import { answerClientErrors } from '../../src/runtime/client-error.js';
import { createNodeSha256 } from '../../src/runtime/node-sha256.js';
import { FakeWhatsApp } from './fake-whatsapp.js';

export const TEST_SECRET = randomBytes(32).toString('hex');

/** Time that only moves when told to; sleeps are recorded and return at once. */
export class ManualClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public current = Date.parse('2026-11-25T12:00:00Z')) {}
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface Harness {
  readonly fake: FakeWhatsApp;
  readonly clock: ManualClock;
  readonly config: Config;
  readonly proxy: ProxyApp;
  readonly url: string;
  readonly logs: string[];
  /** Parsed JSON log lines. */
  logEntries(): Array<Record<string, unknown>>;
  token(claims?: Record<string, unknown>, options?: { ttlSeconds?: number; secret?: string; alg?: string }): Promise<string>;
  get(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Record<string, string>;
  readonly deps?: Partial<AppDeps>;
  readonly fake?: FakeWhatsApp;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const fake = options.fake ?? (await new FakeWhatsApp().start());
  const clock = new ManualClock();
  const config = loadConfig({
    WHATSAPP_TOKEN: fake.token,
    JWT_SECRET: TEST_SECRET,
    GRAPH_API_URL: fake.origin,
    MEDIA_HOSTS: '127.0.0.1',
    LOG_LEVEL: 'debug',
    UPSTREAM_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const logs: string[] = [];
  const logger = createJsonLogger(config.logLevel, (line) => logs.push(line));
  const proxy = createApp({
    config,
    fetch: globalThis.fetch,
    clock,
    logger,
    createSha256: createNodeSha256,
    version: '0.0.0-test',
    graphRetryBaseMs: 1,
    ...options.deps,
  });
  const server = await new Promise<Server>((resolve) => {
    const s: ServerType = serve({ fetch: proxy.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
  });
  // As src/node.ts does: what Node's parser refuses is answered like any other refusal.
  answerClientErrors(server, { logger, metrics: options.deps?.metrics ?? noopMetrics });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const harness: Harness = {
    fake,
    clock,
    config,
    proxy,
    url,
    logs,
    logEntries: () => logs.map((line) => JSON.parse(line) as Record<string, unknown>),
    async token(claims = { media: '*' }, opts = {}) {
      const secret = new TextEncoder().encode(opts.secret ?? TEST_SECRET);
      const iat = Math.floor(clock.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
        .setIssuedAt(iat)
        .setExpirationTime(iat + (opts.ttlSeconds ?? 600))
        .sign(secret);
    },
    async get(path, init = {}) {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      const bearer = token === undefined ? await harness.token() : token;
      if (bearer !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${bearer}`);
      return fetch(`${url}${path}`, { ...rest, headers });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!options.fake) await fake.stop();
    },
  };
  return harness;
}
