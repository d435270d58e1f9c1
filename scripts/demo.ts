/**
 * `npm run demo`: the proxy serving sample media to a chat-like page, with no token, no
 * configuration and no network (see demo/start-demo.ts). Prints one line, the page's URL; Ctrl-C
 * stops everything and removes the temporary data.
 */
import { startDemo } from '../demo/start-demo.js';

const demo = await startDemo();
console.log(`whatsapp-media-proxy demo: open ${demo.url} (Ctrl-C stops it)`);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await demo.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// The proxy should only end when told to; if it dies on its own, the demo has nothing to show.
void demo.proxy.exited.then(({ code, signal }) => {
  if (stopping) return;
  console.error(`whatsapp-media-proxy demo: the proxy exited (${signal ?? `code ${code}`}); stopping`);
  void stop(1);
});
