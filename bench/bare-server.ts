/**
 * The baseline for a cache hit: node:http answering the same bytes with the same response headers
 * the proxy sends for that entry, computed once. No routing, auth, logging or metrics.
 */
import { createServer } from 'node:http';
import { mediaHeaders } from '../src/http/media-headers.js';
import { HIT_IMAGE } from './media-set.js';

const headers = {
  ...mediaHeaders(HIT_IMAGE.meta, { maxAge: 86400, download: false }),
  'x-request-id': '00000000-0000-4000-8000-000000000000',
};
const server = createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(HIT_IMAGE.bytes);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
