/**
 * The baseline for a store hit: node:http piping a file from disk (BENCH_FILE), with its length, and
 * nothing else: no routing, auth, index lookup, logging or metrics. What any server that keeps media
 * on a local disk pays to send it.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';

const file = process.env.BENCH_FILE ?? '';
const size = statSync(file).size;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(size), 'accept-ranges': 'bytes' });
  pipeline(createReadStream(file), res).catch(() => res.destroy());
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
