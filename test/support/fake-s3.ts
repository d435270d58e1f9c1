import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { checkSigV4, type SigV4Credentials } from './sigv4-check.js';

/**
 * A fake S3 on 127.0.0.1 (path-style: `/<bucket>/<key>`) that holds objects in memory and refuses
 * what S3 refuses: a bad SigV4 signature (test/support/sigv4-check.ts), a PUT without Content-Length,
 * a payload whose sha256 is not the signed x-amz-content-sha256 (400 XAmzContentSHA256Mismatch, and
 * nothing stored), a body cut short (nothing stored), If-None-Match: * on an existing key (412).
 * GET answers a single Range with 206 or 416. Errors are S3's XML. Every request is recorded, and
 * faults can be scripted: an HTTP error, a dropped connection, a request never answered, or "down".
 */

export interface StoredObject {
  readonly bytes: Buffer;
  /** content-type and every x-amz-meta-* header, as stored. */
  readonly headers: Readonly<Record<string, string>>;
  readonly etag: string;
}

export interface RecordedRequest {
  readonly method: string;
  key: string;
  readonly headers: IncomingHttpHeaders;
  status?: number;
  code?: string;
  /** PUT: bytes that arrived. */
  receivedBytes?: number;
}

export type S3Fault = { readonly kind: 'status'; readonly status: number; readonly code?: string } | { readonly kind: 'drop' } | { readonly kind: 'hang' };

export interface FakeS3Options extends Partial<SigV4Credentials> {
  readonly bucket?: string;
  /** The server's clock, for the x-amz-date skew check. */
  readonly now?: () => number;
}

export interface FakeS3 {
  /** AWS_ENDPOINT_URL_S3 for this fake. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly credentials: SigV4Credentials;
  readonly objects: Map<string, StoredObject>;
  readonly requests: RecordedRequest[];
  /** The next `times` requests (optionally only those of `method`) meet `fault`. */
  fail(fault: S3Fault, options?: { readonly times?: number; readonly method?: string }): void;
  /** While down, every connection is closed before a byte is answered. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3> {
  const bucket = options.bucket ?? 'media-test';
  const credentials: SigV4Credentials = {
    accessKeyId: options.accessKeyId ?? 'AKIAFAKES3TEST',
    secretAccessKey: options.secretAccessKey ?? randomBytes(20).toString('base64'),
    region: options.region ?? 'us-east-1',
    ...(options.sessionToken === undefined ? {} : { sessionToken: options.sessionToken }),
  };
  const now = options.now ?? Date.now;
  const objects = new Map<string, StoredObject>();
  const requests: RecordedRequest[] = [];
  const faults: { fault: S3Fault; times: number; method: string | undefined }[] = [];
  let down = false;
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const record: RecordedRequest = { method: req.method ?? '', key: '', headers: req.headers };
    requests.push(record);
    const answer = (status: number, headers: Record<string, string> = {}, body?: Buffer) => {
      record.status = status;
      res.writeHead(status, { 'x-amz-request-id': randomBytes(8).toString('hex'), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const error = (status: number, code: string, message: string, extra: Record<string, string> = {}) => {
      record.code = code;
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${req.url ?? ''}</Resource><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
      answer(status, { 'content-type': 'application/xml', ...extra }, Buffer.from(xml));
    };

    const pending = faults.find((f) => f.method === undefined || f.method === req.method);
    if (pending !== undefined) {
      if (--pending.times <= 0) faults.splice(faults.indexOf(pending), 1);
      if (pending.fault.kind === 'drop') return void req.socket.destroy();
      if (pending.fault.kind === 'hang') return;
      return void error(pending.fault.status, pending.fault.code ?? (pending.fault.status === 503 ? 'SlowDown' : 'InternalError'), 'scripted fault');
    }

    const url = new URL(req.url ?? '/', 'http://fake');
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    record.key = rest.map(decodeURIComponent).join('/');
    const refusal = checkSigV4({ method: req.method ?? '', target: req.url ?? '/', headers: req.headers }, credentials, now());
    if (refusal !== undefined) return error(refusal.status, refusal.code, refusal.message);
    if (decodeURIComponent(bucketName) !== bucket) return error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (record.key === '') return error(400, 'InvalidRequest', 'this fake serves objects only');

    switch (req.method) {
      case 'PUT':
        return handlePut(req, record, objects, answer, error);
      case 'GET':
      case 'HEAD':
        return handleGet(req, record.key, objects, answer, error);
      case 'DELETE':
        objects.delete(record.key);
        return answer(204);
      default:
        return error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
  });
  server.on('connection', (socket) => {
    if (down) return void socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Longer than any pause in a test: a client reusing a connection the server has just closed sees
  // "connection lost" (Node's default is 5 s), a race no test here is about.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials,
    objects,
    requests,
    fail(fault, opts = {}) {
      faults.push({ fault, times: opts.times ?? 1, method: opts.method });
    },
    setDown(value) {
      down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Answer = (status: number, headers?: Record<string, string>, body?: Buffer) => void;
type Refuse = (status: number, code: string, message: string, extra?: Record<string, string>) => void;

function handlePut(req: IncomingMessage, record: RecordedRequest, objects: Map<string, StoredObject>, answer: Answer, error: Refuse): void {
  const lengthRaw = req.headers['content-length'];
  if (lengthRaw === undefined || !/^\d+$/.test(lengthRaw)) return error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  const declared = Number(lengthRaw);
  const payloadHash = String(req.headers['x-amz-content-sha256']);
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && !SHA256_HEX.test(payloadHash)) return error(400, 'NotImplemented', 'this fake takes a hex payload sha256 or UNSIGNED-PAYLOAD');
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') return error(501, 'NotImplemented', 'If-None-Match accepts only *');

  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.byteLength;
    record.receivedBytes = received;
    hash.update(chunk);
    chunks.push(chunk);
  });
  // A client that goes away before Content-Length bytes arrived never reaches 'end': nothing stored.
  req.on('end', () => {
    if (received !== declared) return error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    const digest = hash.digest('hex');
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && digest !== payloadHash) {
      return error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    // Evaluated when the upload completes, as S3 does: of two concurrent writers, the second gets 412.
    if (ifNoneMatch === '*' && objects.has(record.key)) return error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if ((name === 'content-type' || name.startsWith('x-amz-meta-')) && typeof value === 'string') headers[name] = value;
    }
    const bytes = Buffer.concat(chunks);
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    objects.set(record.key, { bytes, headers, etag });
    answer(200, { etag });
  });
}

function handleGet(req: IncomingMessage, key: string, objects: Map<string, StoredObject>, answer: Answer, error: Refuse): void {
  const object = objects.get(key);
  if (object === undefined) return error(404, 'NoSuchKey', 'The specified key does not exist.');
  const size = object.bytes.byteLength;
  const headers = { ...object.headers, etag: object.etag, 'accept-ranges': 'bytes', 'last-modified': new Date(0).toUTCString() };
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  // S3 ignores a Range it cannot parse and answers the whole object.
  if (range === null || (range[1] === '' && range[2] === '')) return answer(200, { ...headers, 'content-length': String(size) }, object.bytes);
  let start: number;
  let end: number;
  if (range[1] === '') {
    start = Math.max(0, size - Number(range[2]));
    end = size - 1;
  } else {
    start = Number(range[1]);
    end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
  }
  if (start >= size || start > end) return error(416, 'InvalidRange', 'The requested range is not satisfiable', { 'content-range': `bytes */${size}` });
  answer(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) }, object.bytes.subarray(start, end + 1));
}
