/**
 * Runs a server module (argv[2]) in this process and answers the benchmark, over the IPC channel,
 * about this process's own CPU time and resident memory. Works wherever Node does (no /proc).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export type UsageQuestion = { readonly id: number; readonly type: 'usage' | 'peak-start' | 'peak-stop' };
export interface UsageAnswer {
  readonly id: number;
  /** User + system CPU time since start, µs. */
  readonly cpuMicros: number;
  readonly rss: number;
  /** Highest RSS sampled since the last peak-start (every 5 ms), bytes. */
  readonly peakRss: number;
}

let peak = 0;
let sampler: NodeJS.Timeout | undefined;

process.on('message', (question: UsageQuestion) => {
  const rss = process.memoryUsage.rss();
  if (question.type === 'peak-start') {
    peak = rss;
    clearInterval(sampler);
    sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
  } else if (question.type === 'peak-stop') {
    clearInterval(sampler);
    peak = Math.max(peak, rss);
  }
  const cpu = process.cpuUsage();
  const answer: UsageAnswer = { id: question.id, cpuMicros: cpu.user + cpu.system, rss, peakRss: peak };
  process.send?.(answer);
});
// Without this the IPC channel alone would keep a server that is told to stop from exiting.
process.channel?.unref();

const target = process.argv[2];
if (target === undefined) throw new Error('usage: with-usage-report.ts <server module>');
await import(pathToFileURL(resolve(target)).href);
