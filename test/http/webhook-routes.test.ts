/**
 * POST and GET /webhooks/whatsapp over real HTTP, with the app's queue downloading from the fake
 * Graph + CDN: what a delivery causes upstream is counted there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { extractMedia } from '../../src/ingest/extract-media.js';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { appSecret, deliveryOf, fixture, FIXTURES, signature, type FixtureName } from '../support/webhooks.js';

const SECRET = appSecret();
const VERIFY_TOKEN = 'verify-me-please-1234';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(env: Record<string, string> = {}): Promise<Harness> {
  h = await startHarness({ env: { WHATSAPP_APP_SECRET: SECRET, WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN, ...env } });
  // Every media id any fixture names exists upstream.
  let seed = 1;
  for (const name of FIXTURES) {
    for (const m of extractMedia(JSON.parse(fixture(name).toString('utf8'))).media) h.fake.addMedia(m.id, { bytes: makeBytes(3_000 + seed, seed++), mimeType: m.hint.mimeType ?? 'image/jpeg' });
  }
  return h;
}

function deliver(harness: Harness, body: Uint8Array<ArrayBuffer> | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${harness.url}/webhooks/whatsapp`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

const signed = (body: Uint8Array | string, secret = SECRET) => ({ 'x-hub-signature-256': signature(body, secret) });
const idsOf = (name: FixtureName) => extractMedia(JSON.parse(fixture(name).toString('utf8'))).media.map((m) => m.id);

async function settle(harness: Harness): Promise<void> {
  await harness.proxy.prefetchQueue!.idle();
}

describe('POST /webhooks/whatsapp', () => {
  it('answers 200 to a signed batch, then downloads each media id once, so the first view is a memory hit', async () => {
    const harness = await start();
    const body = fixture('batch');
    const res = await deliver(harness, body, signed(body));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ media: 5 });
    await settle(harness);
    const ids = idsOf('batch');
    for (const id of ids) expect(harness.fake.count('cdn', id)).toBe(1);
    const view = await harness.get(`/media/${ids[0]}`);
    expect(view.status).toBe(200);
    await view.arrayBuffer();
    expect(harness.fake.count('graph', ids[0])).toBe(1);
    expect(harness.logEntries().find((l) => l.msg === 'request' && l.path === `/media/${ids[0]}`)).toMatchObject({ cache: 'hit:memory' });
  });

  it('takes every media type fixture, and nothing from a status update', async () => {
    const harness = await start();
    for (const name of ['image-caption-pt', 'video', 'audio-voice', 'document', 'sticker', 'status'] as const) {
      const body = fixture(name);
      expect((await deliver(harness, body, signed(body))).status).toBe(200);
    }
    await settle(harness);
    expect(harness.fake.count('cdn')).toBe(5);
    expect(harness.fake.count('graph')).toBe(5);
  });

  it('downloads nothing twice when Meta redelivers', async () => {
    const harness = await start();
    const body = fixture('batch');
    for (let i = 0; i < 3; i++) {
      expect((await deliver(harness, body, signed(body))).status).toBe(200);
      if (i === 1) await settle(harness);
    }
    await settle(harness);
    for (const id of idsOf('batch')) expect(harness.fake.count('cdn', id)).toBe(1);
  });

  it('refuses a missing, wrong or other-secret signature with 401 problem+json, fetches nothing and logs nothing of the body', async () => {
    const harness = await start();
    const body = fixture('image-caption-pt');
    const right = signature(body, SECRET);
    const wrong = right.slice(0, -1) + (right.endsWith('a') ? 'b' : 'a');
    for (const headers of [{}, { 'x-hub-signature-256': wrong }, signed(body, appSecret()), { 'x-hub-signature-256': 'sha256=' }]) {
      const res = await deliver(harness, body, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await res.json()) as Record<string, unknown>;
      expect(problem.code).toBe('invalid_signature');
      // The expected signature is never echoed.
      expect(JSON.stringify(problem)).not.toContain(right.slice(7));
    }
    await settle(harness);
    expect(harness.fake.requests).toEqual([]);
    const logged = harness.logs.join('\n');
    for (const secretish of ['promo', 'João', '5511987654321', '1003383421387256', right.slice(7), wrong.slice(7), SECRET]) expect(logged).not.toContain(secretish);
  });

  it('accepts the old and the new secret during a rotation', async () => {
    const old = appSecret();
    const harness = await start({ WHATSAPP_APP_SECRET: `${SECRET},${old}` });
    const video = fixture('video');
    const sticker = fixture('sticker');
    expect((await deliver(harness, video, signed(video, old))).status).toBe(200);
    expect((await deliver(harness, sticker, signed(sticker, SECRET))).status).toBe(200);
    await settle(harness);
    expect(harness.fake.count('cdn')).toBe(2);
  });

  it('verifies a caption in Portuguese with emoji over the raw bytes; the same JSON re-serialised is refused', async () => {
    const harness = await start();
    const raw = fixture('image-caption-pt');
    const header = signed(raw);
    const reserialised = JSON.stringify(JSON.parse(raw.toString('utf8')));
    expect((await deliver(harness, reserialised, header)).status).toBe(401);
    expect((await deliver(harness, raw, header)).status).toBe(200);
    await settle(harness);
    expect(harness.fake.count('cdn', '1003383421387256')).toBe(1);
  });

  it('answers 400 to malformed JSON or invalid UTF-8 behind a valid signature', async () => {
    const harness = await start();
    for (const body of [Buffer.from('{"entry": ['), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])]) {
      const res = await deliver(harness, body, signed(body));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('invalid_request');
    }
  });

  it('answers 413 to a body over 1 MiB, announced or streamed without a Content-Length, before checking anything', async () => {
    const harness = await start();
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    expect((await deliver(harness, big, signed(big))).status).toBe(413);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 4 MiB offered in 64 KiB chunks; the proxy stops reading after the first MiB.
        if (sent >= 4 * 1024 * 1024) return controller.close();
        sent += 65_536;
        controller.enqueue(new Uint8Array(65_536).fill(0x20));
      },
    });
    const res = await fetch(`${harness.url}/webhooks/whatsapp`, { method: 'POST', body: stream, duplex: 'half', headers: signed(big) } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
    // Exactly 1 MiB is still a delivery.
    const limit = Buffer.from(deliveryOf(['700']).padEnd(1024 * 1024, ' '));
    expect((await deliver(harness, limit, signed(limit))).status).toBe(200);
  });

  it('answers 503 with Retry-After when the queue cannot take the delivery, so Meta redelivers later', async () => {
    const harness = await start({ PREFETCH_QUEUE_MAX: '2' });
    const [first, second] = idsOf('batch');
    for (const id of [first!, second!]) harness.fake.scriptDownload(id, { headerDelayMs: 300 });
    const filling = deliveryOf([first!, second!]);
    expect((await deliver(harness, filling, signed(filling))).status).toBe(200);
    const body = fixture('batch');
    const res = await deliver(harness, body, signed(body));
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { code: string }).code).toBe('queue_full');
    // A delivery with no media needs no room.
    const status = fixture('status');
    expect((await deliver(harness, status, signed(status))).status).toBe(200);
    await settle(harness);
    expect(harness.fake.count('cdn')).toBe(2);
    // Once there is room again, a delivery is taken.
    const third = deliveryOf(idsOf('batch').slice(2, 4));
    expect((await deliver(harness, third, signed(third))).status).toBe(200);
    await settle(harness);
    expect(harness.fake.count('cdn')).toBe(4);
  });

  it('answers 405 to other methods', async () => {
    const harness = await start();
    const res = await fetch(`${harness.url}/webhooks/whatsapp`, { method: 'PUT', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });
});

describe('GET /webhooks/whatsapp (verification handshake)', () => {
  const handshake = (harness: Harness, query: string) => fetch(`${harness.url}/webhooks/whatsapp?${query}`);

  it('answers the challenge as text/plain when the mode is subscribe and the token matches', async () => {
    const harness = await start();
    const res = await handshake(harness, `hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe('1158201444');
  });

  it('answers 403 to a wrong or missing token or another mode', async () => {
    const harness = await start();
    for (const query of [`hub.mode=subscribe&hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}x`, 'hub.mode=subscribe&hub.challenge=1', `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}`, '']) {
      const res = await handshake(harness, query);
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain(VERIFY_TOKEN);
    }
  });

  it('never reflects a challenge that is not a short plain value', async () => {
    const harness = await start();
    for (const challenge of ['<script>alert(1)</script>', '', '1'.repeat(129)]) {
      const res = await handshake(harness, `hub.mode=subscribe&hub.challenge=${encodeURIComponent(challenge)}&hub.verify_token=${VERIFY_TOKEN}`);
      expect(res.status).toBe(400);
      const text = await res.text();
      if (challenge !== '') expect(text).not.toContain(challenge);
    }
  });

  it('answers 403 to every handshake when WEBHOOK_VERIFY_TOKEN is unset', async () => {
    const harness = await start({ WEBHOOK_VERIFY_TOKEN: '' });
    expect((await handshake(harness, 'hub.mode=subscribe&hub.challenge=1&hub.verify_token=')).status).toBe(403);
  });
});

describe('without WHATSAPP_APP_SECRET', () => {
  it('has no webhook endpoints: 404 to deliveries and handshakes alike', async () => {
    const harness = await start({ WHATSAPP_APP_SECRET: '', WEBHOOK_VERIFY_TOKEN: '' });
    const body = fixture('video');
    expect((await deliver(harness, body, signed(body))).status).toBe(404);
    expect((await fetch(`${harness.url}/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x`)).status).toBe(404);
    await settle(harness);
    expect(harness.fake.requests).toEqual([]);
  });
});
