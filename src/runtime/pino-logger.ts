import { pino, stdTimeFunctions, type DestinationStream } from 'pino';
import type { LogLevel } from '../config.js';
import type { Logger } from '../logger.js';

/**
 * Structured JSON logs on Node: pino, shaped like the portable logger's lines (`level` as a label,
 * ISO `time`, `msg`) so one log pipeline reads both runtimes. pino writes asynchronously and flushes
 * on exit, keeping the write off the request path.
 */
export function createPinoLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
