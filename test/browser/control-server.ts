/**
 * A loopback server that serves a sample with exactly the headers a test chooses: the controls that
 * show the script detector works (the same document without the proxy's protections runs its script).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readSample, type Sample } from '../../demo/samples.js';

export interface ControlServer {
  /** A URL on this server answering the sample's bytes with these headers (and nothing else). */
  serve(sample: Sample, headers: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

export async function startControlServer(): Promise<ControlServer> {
  const documents = new Map<string, { bytes: Uint8Array; headers: Record<string, string> }>();
  const server = createServer((req, res) => {
    const doc = documents.get(req.url ?? '');
    if (doc === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { ...doc.headers, 'content-length': String(doc.bytes.byteLength) }).end(doc.bytes);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async serve(sample, headers) {
      const path = `/${documents.size + 1}/${sample.file}`;
      documents.set(path, { bytes: await readSample(sample), headers });
      return origin + path;
    },
    close() {
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}
