/**
 * Two ways to reach the Worker from a test inside workerd: the deployed entrypoint (`exports.default`,
 * one app for the whole isolate, configured by the bindings in vitest.config.ts), or a fresh handler
 * with the same bindings: a new app with an empty memory tier, standing in for another isolate of the
 * same location (which shares caches.default).
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { createWorkerHandler, type WorkerHandlerOptions } from '../../src/runtime/worker-handler.js';
import { callerToken } from './fake-upstream.js';

export type ProxyFetch = (request: Request) => Promise<Response>;

export const deployedWorker: ProxyFetch = (request) => exports.default.fetch(request);

export interface FreshIsolate {
  readonly fetch: ProxyFetch;
  /** Parsed log lines this isolate wrote. */
  logEntries(): Array<Record<string, unknown>>;
  /** Waits for the work its requests left to ctx.waitUntil (edge cache writes). */
  settle(): Promise<void>;
}

/** The suite's bindings plus STORE_URL=r2://MEDIA_BUCKET: an isolate with miniflare's local R2 as its store. */
export function withR2Store(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(env as unknown as Record<string, unknown>), STORE_URL: 'r2://MEDIA_BUCKET', ...extra };
}

/** `options.edgeCache` stands in for another Cloudflare location: an edge cache of its own. */
export function freshIsolate(bindings: Record<string, unknown> = env as unknown as Record<string, unknown>, options: WorkerHandlerOptions = {}): FreshIsolate {
  const lines: string[] = [];
  const contexts: ExecutionContext[] = [];
  const handler = createWorkerHandler({ ...options, writeLog: (line) => lines.push(line) });
  return {
    async fetch(request) {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      return handler.fetch!(request as Parameters<NonNullable<typeof handler.fetch>>[0], bindings, ctx);
    },
    logEntries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    async settle() {
      await Promise.all(contexts.splice(0).map((ctx) => waitOnExecutionContext(ctx)));
    },
  };
}

export interface GetOptions {
  /** Caller token; a fresh `media: "*"` token by default, null for none. */
  readonly token?: string | null;
  readonly headers?: Record<string, string>;
  readonly method?: string;
}

export async function get(proxy: ProxyFetch, path: string, options: GetOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? await callerToken() : options.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return proxy(new Request(`http://proxy.test${path}`, { method: options.method ?? 'GET', headers }));
}

export async function problemCode(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}
