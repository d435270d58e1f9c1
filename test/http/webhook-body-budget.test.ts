/**
 * Webhook bodies are read before their signature can be checked, so what all of them hold together
 * is bounded, over real HTTP: slow senders holding ~1 MiB each get a 503 past the total, and the
 * proxy goes on taking signed deliveries once they are gone.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { MAX_WEBHOOK_BODIES_BYTES, MAX_WEBHOOK_BODY_BYTES } from '../../src/http/webhook-routes.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { appSecret, deliveryOf, signature } from '../support/webhooks.js';

const SECRET = appSecret();
let h: Harness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.close();
  h = undefined;
});

/** A delivery that announces just under the limit, sends `sent` bytes of it and then waits. */
function slowDelivery(url: string, sent: number): { socket: Socket; answer: () => string } {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  socket.on('error', () => {});
  const head = ['POST /webhooks/whatsapp HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${MAX_WEBHOOK_BODY_BYTES - 1}`, 'X-Hub-Signature-256: sha256=' + '0'.repeat(64), '', ''].join('\r\n');
  socket.write(head);
  socket.write(Buffer.alloc(sent, 0x20));
  sockets.push(socket);
  return { socket, answer: () => answer };
}

it('answers 503 with Retry-After to the bodies past the total, and takes signed deliveries once they are gone', async () => {
  h = await startHarness({ env: { WHATSAPP_APP_SECRET: SECRET } });
  const each = 1_000_000;
  const count = Math.ceil(MAX_WEBHOOK_BODIES_BYTES / each) + 2;
  const senders = Array.from({ length: count }, () => slowDelivery(h!.url, each));
  await eventually(() => senders.filter((s) => s.answer() !== '').length >= 2, () => `answers so far: ${senders.filter((s) => s.answer() !== '').length}`);
  // Nobody was answered but those refused: the rest are still waiting for their last bytes.
  const answered = senders.map((s) => s.answer()).filter((a) => a !== '');
  expect(answered.length).toBeLessThan(count);
  for (const a of answered) {
    expect(a).toMatch(/^HTTP\/1\.1 503 /);
    expect(a).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(a).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(a).toContain('"code":"server_busy"');
  }
  for (const s of senders) s.socket.destroy();

  // The bytes of the senders that left were given back: a real delivery of ~1 MB goes through, which
  // would not fit beside what they held (JSON allows the trailing whitespace; the signature covers it).
  const body = deliveryOf([]) + ' '.repeat(each);
  expect(body.length).toBeLessThan(MAX_WEBHOOK_BODY_BYTES);
  expect(MAX_WEBHOOK_BODIES_BYTES - (count - 2) * each).toBeLessThan(body.length);
  // Until the proxy has seen them go, a delivery may still be refused (and its upload cut): retried.
  await eventually(async () => {
    const res = await fetch(`${h!.url}/webhooks/whatsapp`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(body, SECRET) } }).catch(() => undefined);
    return res?.status === 200;
  }, () => 'a signed delivery after the senders left');
});
