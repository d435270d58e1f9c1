/**
 * The real Node entrypoint in a child process (test/support/proxy-process.ts) against a FakeWhatsApp,
 * listening on 127.0.0.1 port 0 with a caller-token secret the tests know.
 */
import type { FakeWhatsApp } from './fake-whatsapp.js';
import { startProxyProcess, type ProxyProcess } from './proxy-process.js';
import { TEST_SECRET } from './proxy-harness.js';

export type ChildProxy = ProxyProcess;

/** `cwd` should be an empty directory of the test's own: no developer .env gets loaded. */
export function startChildProxy(fake: FakeWhatsApp, cwd: string, env: Record<string, string>): Promise<ChildProxy> {
  return startProxyProcess({
    cwd,
    env: { WHATSAPP_TOKEN: fake.token, JWT_SECRET: TEST_SECRET, GRAPH_API_URL: fake.origin, MEDIA_HOSTS: '127.0.0.1', HOST: '127.0.0.1', PORT: '0', ...env },
  });
}
