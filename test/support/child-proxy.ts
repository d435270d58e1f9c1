/**
 * The real Node entrypoint in a child process (test/support/proxy-process.ts) against a FakeWhatsApp,
 * listening on 127.0.0.1 port 0 with a caller-token secret the tests know, for tests of what only a
 * process shows: a restart, a SIGKILL mid-write, two processes on one store directory, a refused start.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { FakeWhatsApp } from './fake-whatsapp.js';
import { spawnProxyProcess, type ProxyProcess, type SpawnedProxyProcess } from './proxy-process.js';
import { TEST_SECRET } from './proxy-harness.js';
import { eventually } from './eventually.js';

export interface ChildProxy extends ProxyProcess {
  readonly pid: number;
  stderr(): string;
  /** http://127.0.0.1:<port>. */
  url(): string;
  /**
   * A request with a caller token for every media id (unless `authorization` is given) and an
   * `x-request-id` of its own (any given one is replaced). It resolves once the answer's headers are
   * in and, unless `LOG_LEVEL` is above `info`, the proxy's log line for it has arrived too: so
   * `requestLines` holds every request made through `request()` so far.
   */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Bytes the process has read through read(2)-like calls so far (files and sockets): /proc/<pid>/io rchar. */
  bytesRead(): number;
  /** The request log lines for `mediaId`, in order. */
  requestLines(mediaId: string): Array<Record<string, unknown>>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every child proxy still running: for afterEach/afterAll. */
export function killChildProxies(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/** Spawns the proxy without waiting for it to listen (a start that should fail). */
export function spawnChildProxy(fake: FakeWhatsApp, cwd: string, env: Record<string, string>): SpawnedProxyProcess {
  const spawned = spawnProxyProcess({
    cwd,
    env: { WHATSAPP_TOKEN: fake.token, JWT_SECRET: TEST_SECRET, GRAPH_API_URL: fake.origin, MEDIA_HOSTS: '127.0.0.1', HOST: '127.0.0.1', PORT: '0', ...env },
  });
  children.add(spawned.child);
  return spawned;
}

/** `cwd` should be an empty directory of the test's own: no developer .env gets loaded. */
export async function startChildProxy(fake: FakeWhatsApp, cwd: string, env: Record<string, string>): Promise<ChildProxy> {
  const spawned = spawnChildProxy(fake, cwd, env);
  const port = await spawned.listening;
  const { child, lines } = spawned;
  const url = () => `http://127.0.0.1:${port}`;
  let sent = 0;
  const logsRequests = env.LOG_LEVEL === undefined || env.LOG_LEVEL === 'info' || env.LOG_LEVEL === 'debug';
  return {
    ...spawned,
    port,
    pid: child.pid!,
    url,
    async request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${await callerToken()}`);
      const requestId = `child-request-${++sent}`;
      headers.set('x-request-id', requestId);
      const response = await fetch(`${url()}${path}`, { ...init, headers });
      // The line comes over a pipe, not this socket, and is written by the end of the event-loop
      // turn that answered (src/runtime/turn-buffered-stdout.ts): it may arrive after the answer.
      if (logsRequests) await eventually(() => lines.some((l) => l.msg === 'request' && l.requestId === requestId), `the log line of request ${requestId}`);
      return response;
    },
    bytesRead() {
      const rchar = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${child.pid}/io`, 'utf8'))?.[1];
      if (rchar === undefined) throw new Error('no rchar in /proc/<pid>/io');
      return Number(rchar);
    },
    requestLines: (mediaId) => lines.filter((l) => l.msg === 'request' && l.path === `/media/${mediaId}`),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await spawned.exited;
      children.delete(child);
    },
  };
}

export async function callerToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ media: '*' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 600).sign(new TextEncoder().encode(TEST_SECRET));
}

export async function bodyOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}
