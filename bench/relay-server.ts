/**
 * A reference, not a product: the least any proxy of WhatsApp media must do per request, with Node's
 * own HTTP client and nothing else. It looks the id up on the fake Graph and pipes the CDN answer
 * through, without caller auth, sha256 check, cache, URL refresh, timeouts or logging. How it fares
 * against a client fetching straight from the fake says what this machine allows any relay (a third
 * process on the same CPUs, one more hop); the proxy's ratio is to be read against it.
 */
import { Agent, createServer, get, type IncomingMessage } from 'node:http';
import { DEFAULTS } from '../src/config.js';

const graph = process.env.GRAPH_API_URL ?? '';
const token = process.env.WHATSAPP_TOKEN ?? '';
const agent = new Agent({ keepAlive: true });

function once(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => void get(url, { agent, headers }, resolve).on('error', reject));
}

/**
 * One retry when the request failed before any answer: a kept-alive socket the fake closed just as
 * it was reused (ECONNRESET) is a client-side race every HTTP client handles (undici retries too),
 * not something a relay should pass on as a dropped connection.
 */
function open(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return once(url, headers).catch(() => once(url, headers));
}

const server = createServer(async (req, res) => {
  try {
    const id = /^\/media\/(\d+)/.exec(req.url ?? '')?.[1] ?? '';
    const lookup = await open(`${graph}/${DEFAULTS.GRAPH_API_VERSION}/${id}`, { authorization: `Bearer ${token}` });
    let json = '';
    for await (const chunk of lookup) json += String(chunk);
    const { url, mime_type: type, file_size: size } = JSON.parse(json) as { url: string; mime_type: string; file_size: number };
    const media = await open(url, { authorization: `Bearer ${token}`, 'user-agent': 'bench-relay' });
    res.writeHead(200, { 'content-type': type, 'content-length': String(size) });
    media.pipe(res);
  } catch (error) {
    console.error(`bare relay: ${String(error)}`);
    res.destroy();
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
