/**
 * answerClientErrors on a real node:http server: what the parser refuses is answered with a
 * problem+json and the connection is then closed by the server, as Node's own answer does, even
 * when the client keeps its side open (the server allows half-open connections).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../src/logger.js';
import { noopMetrics } from '../../src/metrics.js';
import { answerClientErrors } from '../../src/runtime/client-error.js';
import { eventually } from '../support/eventually.js';

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

const connections = () => new Promise<number>((resolve, reject) => server!.getConnections((error, n) => (error ? reject(error) : resolve(n))));

/** A server that reads each request body to its end, as the webhook route does, and notes how reads end. */
async function start(): Promise<{ url: { host: string; port: number }; reads: string[]; logs: Array<Record<string, unknown>> }> {
  const reads: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  server = createServer({ requestTimeout: 500, connectionsCheckingInterval: 50 }, (req: IncomingMessage, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      reads.push('whole');
      res.end('ok');
    });
    req.on('aborted', () => reads.push('aborted'));
  });
  answerClientErrors(server, { logger: createJsonLogger('info', (line) => logs.push(JSON.parse(line) as Record<string, unknown>)), metrics: noopMetrics });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: { host: '127.0.0.1', port }, reads, logs };
}

/** Sends `request` and keeps this side open; collects what comes back and whether the server closed. */
function send(url: { host: string; port: number }, request: string) {
  // Half-open, as a hostile client would: its side stays open after the server's FIN.
  const socket = connect({ ...url, allowHalfOpen: true });
  sockets.push(socket);
  let received = '';
  let closedByServer = false;
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('end', () => (closedByServer = true));
  socket.on('error', () => (closedByServer = true));
  socket.write(request);
  return { received: () => received, closedByServer: () => closedByServer, write: (text: string) => void socket.write(text) };
}

describe('answerClientErrors', () => {
  it('answers a request that timed out mid-body with 408 problem+json, then closes the connection and ends the pending read', async () => {
    const { url, reads, logs } = await start();
    const client = send(url, 'POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(400));
    await eventually(() => client.closedByServer(), () => `the server closing the connection; got ${JSON.stringify(client.received().slice(0, 80))}`, 5_000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(client.received()).toContain('"code":"request_timeout"');
    expect(client.received()).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/);
    // The rest of the body, sent after the answer, reaches nobody: the read ended with the refusal.
    client.write('x'.repeat(600));
    await eventually(() => reads.includes('aborted'), 'the pending body read to end', 2_000);
    await eventually(async () => (await connections()) === 0, 'the server to drop the connection', 2_000);
    expect(reads).not.toContain('whole');
    expect(logs.map((l) => [l.msg, l.status, l.code])).toEqual([['request refused by the HTTP parser', 408, 'request_timeout']]);
  });

  it('answers a malformed request with 400 problem+json and closes the connection at once', async () => {
    const { url } = await start();
    const client = send(url, 'GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n');
    await eventually(() => client.closedByServer(), 'the server closing the connection', 2_000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(client.received()).toContain('"code":"malformed_request"');
    await eventually(async () => (await connections()) === 0, 'the server to drop the connection', 2_000);
  });
});
