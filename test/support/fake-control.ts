/**
 * A FakeWhatsApp plus a small JSON control endpoint on 127.0.0.1, for callers that cannot hold the
 * fake object: tests running inside workerd, and a proxy under manual test (`wrangler dev`,
 * `npm start`). Runnable: `tsx test/support/fake-control.ts` starts one and prints its addresses.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AddMediaCommand, AddedMedia, EchoedBody, FakeUpstreamInfo, ScriptGraphCommand, SeenUpstreamRequest } from './fake-control-protocol.js';
import { FakeWhatsApp, makeBytes, sha256Hex } from './fake-whatsapp.js';

export interface ControlledFake {
  readonly fake: FakeWhatsApp;
  readonly info: FakeUpstreamInfo;
  stop(): Promise<void>;
}

export async function startControlledFake(): Promise<ControlledFake> {
  const fake = await new FakeWhatsApp().start();
  const secondToken = `second-business-token-${randomBytes(6).toString('hex')}`;
  fake.addAccount(secondToken);
  const server: Server = createServer((req, res) => {
    handle(fake, secondToken, req)
      .then((answer) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? {})))
      .catch((error: unknown) => res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    fake,
    info: { origin: fake.origin, control: `http://127.0.0.1:${port}`, token: fake.token, secondToken },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.stop();
    },
  };
}

async function handle(fake: FakeWhatsApp, secondToken: string, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://control');
  if (req.method === 'POST' && url.pathname === '/echo') return echo(req);
  const body = req.method === 'POST' ? JSON.parse((await readBody(req)).toString('utf8')) : undefined;
  switch (`${req.method} ${url.pathname}`) {
    case 'POST /media': {
      const command = body as AddMediaCommand;
      const bytes = makeBytes(command.size, command.seed);
      fake.addMedia(command.id, {
        bytes,
        mimeType: command.mimeType,
        ...(command.fileSizeAsString ? { fileSizeAsString: true } : {}),
        ...(command.announcedSha256 === undefined ? {} : { announcedSha256: command.announcedSha256 }),
        ...(command.owner === 'second' ? { owner: secondToken } : {}),
      });
      return { sha256: sha256Hex(bytes) } satisfies AddedMedia;
    }
    case 'POST /advance':
      fake.advance((body as { ms: number }).ms);
      return {};
    case 'POST /script-graph': {
      const command = body as ScriptGraphCommand;
      fake.scriptGraph(command.id, ...command.replies);
      return {};
    }
    case 'GET /requests': {
      const id = url.searchParams.get('id') ?? undefined;
      return fake.requests
        .filter((r) => id === undefined || r.mediaId === id)
        .map((r): SeenUpstreamRequest => ({
          kind: r.kind,
          method: r.method,
          mediaId: r.mediaId,
          userAgent: r.headers['user-agent'],
          authorized: r.headers.authorization === `Bearer ${fake.token}`,
        }));
    }
    default:
      throw new Error(`unknown control call ${req.method} ${url.pathname}`);
  }
}

/**
 * How a body arrived over a real HTTP hop: with Content-Length or chunked, and its digest. Inside
 * workerd a Response's headers cannot show whether the runtime will send its length (it drops the
 * header for a stream of unknown length only when it serialises), so tests send the body on here.
 */
async function echo(req: IncomingMessage): Promise<EchoedBody> {
  const bytes = await readBody(req);
  return {
    contentLength: req.headers['content-length'] ?? null,
    transferEncoding: req.headers['transfer-encoding'] ?? null,
    bytes: bytes.byteLength,
    sha256: sha256Hex(bytes),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// `tsx test/support/fake-control.ts`: a fake to point `npm start` and `npm run dev:worker` at.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { info, stop } = await startControlledFake();
  console.log(JSON.stringify(info));
  const quit = () => void stop().then(() => process.exit(0));
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
}
