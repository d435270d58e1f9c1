/**
 * Ingestion inside workerd: the deployed Worker is producer and consumer of its PREFETCH_QUEUE
 * (miniflare's local Queues, vitest.config.ts); a handler without that binding runs the jobs under
 * ctx.waitUntil. Either way the media is downloaded from the fake CDN without anyone viewing it.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/hash.js';
import { callerToken, fakeUpstream } from './fake-upstream.js';
import { deployedWorker, freshIsolate, type ProxyFetch } from './proxy-client.js';
import { eventually } from '../support/eventually.js';

async function signature(body: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(env.WHATSAPP_APP_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return `sha256=${toHex(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body)))}`;
}

function delivery(id: string): string {
  const message = { from: '5511987654321', id: 'wamid.w1', timestamp: '1750000000', type: 'image', image: { caption: 'Olá 🌞', mime_type: 'image/jpeg', sha256: 'a'.repeat(64), id } };
  return JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', messages: [message] } }] }] });
}

async function deliver(proxy: ProxyFetch, body: string, signed = true): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signed) headers['x-hub-signature-256'] = await signature(body);
  return proxy(new Request('http://proxy.test/webhooks/whatsapp', { method: 'POST', body, headers }));
}

describe('with a PREFETCH_QUEUE binding (Cloudflare Queues)', () => {
  it('a signed delivery is answered 200, sent to the queue, consumed, and downloaded once', async () => {
    await fakeUpstream.addMedia({ id: '760000001', size: 30_000, seed: 61, mimeType: 'image/jpeg' });
    const body = delivery('760000001');
    expect((await deliver(deployedWorker, body)).status).toBe(200);
    await eventually(async () => (await fakeUpstream.count('cdn', '760000001')) === 1, 'the queue consumer download', 5_000);
    // A redelivery is consumed too, and finds the media kept: no second download.
    expect((await deliver(deployedWorker, body)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    // Kept at the edge by the consumer: another isolate (empty memory) serves it without asking Graph.
    const other = freshIsolate();
    const view = await other.fetch(new Request('http://proxy.test/media/760000001', { headers: { authorization: `Bearer ${await callerToken()}` } }));
    expect(view.status).toBe(200);
    expect((await view.arrayBuffer()).byteLength).toBe(30_000);
    expect(other.logEntries().find((l) => l.msg === 'request')).toMatchObject({ cache: 'hit:edge' });
    expect(await fakeUpstream.count('graph', '760000001')).toBe(1);
    expect(await fakeUpstream.count('cdn', '760000001')).toBe(1);
  });

  it('POST /prefetch answers 202 queued and the consumer downloads the media', async () => {
    await fakeUpstream.addMedia({ id: '760000002', size: 10_000, seed: 62, mimeType: 'image/png' });
    const res = await deployedWorker(
      new Request('http://proxy.test/prefetch', {
        method: 'POST',
        body: JSON.stringify({ media: ['760000002'] }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await callerToken({ media: '*', scope: 'media:prefetch' })}` },
      }),
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ media: [{ id: '760000002', state: 'queued' }] });
    await eventually(async () => (await fakeUpstream.count('cdn', '760000002')) === 1, 'the queue consumer download', 5_000);
  });

  it('refuses a delivery with a wrong signature: 401, nothing queued or fetched', async () => {
    await fakeUpstream.addMedia({ id: '760000003', size: 1_000, seed: 63, mimeType: 'image/jpeg' });
    const res = await deployedWorker(new Request('http://proxy.test/webhooks/whatsapp', { method: 'POST', body: delivery('760000003'), headers: { 'x-hub-signature-256': await signature(delivery('760000004')) } }));
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(await fakeUpstream.count('graph', '760000003')).toBe(0);
  });
});

describe('without a queue binding', () => {
  it('runs the jobs under ctx.waitUntil after the answer', async () => {
    await fakeUpstream.addMedia({ id: '760000005', size: 20_000, seed: 65, mimeType: 'image/jpeg' });
    const { PREFETCH_QUEUE: _queue, ...bindings } = env as unknown as Record<string, unknown>;
    const isolate = freshIsolate(bindings);
    expect((await deliver(isolate.fetch, delivery('760000005'))).status).toBe(200);
    await isolate.settle();
    expect(await fakeUpstream.count('cdn', '760000005')).toBe(1);
    expect(isolate.logEntries().some((l) => l.msg === 'webhook delivery accepted')).toBe(true);
  });
});
