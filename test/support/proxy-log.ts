import type { Demo } from '../../demo/start-demo.js';
import { eventually } from './eventually.js';

let sentinels = 0;

/**
 * The demo proxy's log lines, once every request it answered before this call has its line in. The
 * lines come over a pipe, not the page's sockets, and are written by the end of the event-loop turn
 * that answered (src/runtime/turn-buffered-stdout.ts): a sentinel request's line is waited for, and
 * the lines are written in order, so every earlier request's line is in before it.
 */
export async function proxyLogSoFar(demo: Demo): Promise<ReadonlyArray<Record<string, unknown>>> {
  const requestId = `sentinel-${++sentinels}`;
  await fetch(`${demo.proxyUrl}/healthz`, { headers: { 'x-request-id': requestId } });
  await eventually(() => demo.proxy.lines.some((l) => l.requestId === requestId), `the proxy's log line of ${requestId}`);
  return demo.proxy.lines;
}
