/**
 * A reference for the ingest row: bare node:http serving 2 MiB buffers filled the way the proxy's
 * memory tier fills an entry (a new Uint8Array, the download's 32 KiB chunks copied in one after
 * another). `POST /fill/<n>` fills buffer n (the ingest), `GET /<n>` sends it (a view). Its first view
 * against its second says what the first send of freshly written memory costs on this machine, with
 * no proxy involved.
 *
 * `POST /fill/<n>?kernel-read` also writes the filled buffer to a file (in the working directory)
 * before answering: the kernel reads every page of it once. If the first send is then as fast as the
 * second, the cost is the kernel's first read of memory this process wrote, not the socket or Node.
 */
import { randomBytes } from 'node:crypto';
import { openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';

const SIZE = 2 * 1024 * 1024;
const CHUNK = 32 * 1024;
const source = randomBytes(SIZE);
const chunks: Buffer[] = [];
for (let offset = 0; offset < SIZE; offset += CHUNK) chunks.push(Buffer.from(source.subarray(offset, offset + CHUNK)));
const buffers = new Map<string, Uint8Array>();
const kernelReads = openSync('fresh-buffer-kernel-read.bin', 'w');

const server = createServer((req, res) => {
  const fill = /^\/fill\/(\d+)(\?kernel-read)?$/.exec(req.url ?? '');
  if (req.method === 'POST' && fill) {
    const buffer = new Uint8Array(SIZE);
    let offset = 0;
    for (const chunk of chunks) {
      buffer.set(chunk, offset);
      offset += chunk.byteLength;
    }
    if (fill[2] !== undefined) writeSync(kernelReads, buffer, 0, SIZE, 0);
    buffers.set(fill[1]!, buffer);
    return void res.writeHead(204).end();
  }
  const buffer = buffers.get((req.url ?? '').slice(1));
  if (buffer === undefined) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
  res.end(buffer);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
