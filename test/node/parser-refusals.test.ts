/**
 * The Node entrypoint answers what Node's HTTP parser refuses (here: headers over its 16 KiB limit,
 * as a browser whose cookies outgrew it sends) with a problem+json of its own, logs it as a JSON
 * line, counts it, and goes on serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rawGet, rawRequest } from '../security/raw-http.js';
import { killChildProxies, startChildProxy, type ChildProxy } from '../support/child-proxy.js';
import { eventually } from '../support/eventually.js';
import { FakeWhatsApp } from '../support/fake-whatsapp.js';

const METRICS_TOKEN = 'metrics-token-for-the-parser-test';
let fake: FakeWhatsApp;
let cwd: string;
let proxy: ChildProxy;

beforeAll(async () => {
  fake = await new FakeWhatsApp().start();
  cwd = mkdtempSync(join(tmpdir(), 'wmp-parser-'));
  proxy = await startChildProxy(fake, cwd, { STORE_URL: 'none', METRICS_TOKEN });
});
afterAll(async () => {
  killChildProxies();
  await fake.stop();
  rmSync(cwd, { recursive: true, force: true });
});

it('answers 431 problem+json with an X-Request-Id to headers over the limit, logs and counts it, and serves on', async () => {
  const res = await rawRequest(proxy.url(), rawGet('/healthz', { cookie: 'c='.repeat(20_000) }));
  expect(res.status).toBe(431);
  expect(res.head).toMatch(/\r\ncontent-type: application\/problem\+json(\r\n|$)/);
  expect(JSON.parse(res.body)).toMatchObject({ status: 431, code: 'request_header_too_large' });
  const requestId = /\r\nx-request-id: ([0-9a-f-]{36})(\r\n|$)/.exec(res.head)?.[1];
  expect(requestId).toBeDefined();
  await eventually(() => proxy.lines.some((l) => l.requestId === requestId), 'the refusal’s log line');
  expect(proxy.lines.find((l) => l.requestId === requestId)).toMatchObject({ level: 'info', msg: 'request refused by the HTTP parser', status: 431, code: 'request_header_too_large' });
  expect(JSON.stringify(proxy.lines)).not.toContain('c=c=c=');

  const metrics = await (await fetch(`${proxy.url()}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  expect(metrics).toMatch(/^whatsapp_media_proxy_http_requests_total\{route="unparsed",method="unknown",status="431"\} 1$/m);
  expect((await fetch(`${proxy.url()}/healthz`)).status).toBe(200);
}, 30_000);
