import type { LogLevel } from './config.js';

/**
 * The logging surface the core uses. Its shape is pino's (`logger.info(fields, message)`), so the Node
 * entrypoint can pass a pino instance straight in; the Worker passes the console-backed one below.
 * Callers put only fields they control into a line: never a token, a caller JWT, a query string or a
 * CDN URL (its `hash` parameter is a signature). Errors go through describeError first.
 */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** One JSON object per line through `write` (console.log by default): portable across runtimes. */
export function createJsonLogger(level: LogLevel, write: (line: string) => void = (line) => console.log(line)): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>) => (fields: LogFields, message: string) => {
    if (RANK[lvl] < min) return;
    write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg: message, ...fields }));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A loggable summary of any thrown value: name, code and message with URLs and bearer-looking
 * strings removed. Stacks are left out on purpose: an upstream library's frames and messages are not
 * ours to vouch for, and the request id ties the line to its request.
 */
export function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { name: 'NonError', message: scrub(String(error)) };
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `; cause: ${error.cause.name}: ${error.cause.message}` : '';
  return {
    name: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: scrub(error.message + cause),
  };
}

function scrub(text: string): string {
  return text
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')
    .replace(/\bBearer\s+\S+/gi, 'Bearer <redacted>')
    .replace(/\beyJ[\w-]+\.[\w-]*\.?[\w-]*/g, '<jwt>')
    .replace(/\bEAA[A-Za-z0-9]{10,}/g, '<token>')
    .slice(0, 500);
}
