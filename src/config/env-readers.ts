/** How a variable is read: trimmed, blank as unset, and each refusal a ConfigError naming the variable. */
import { checkTransport } from '../upstream/url-policy.js';
import { DEFAULTS } from './defaults.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export function value(env: Env, name: keyof typeof DEFAULTS): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? DEFAULTS[name] : raw.trim();
}

export function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

export function required(env: Env, name: string): string {
  const raw = optional(env, name);
  if (raw === undefined) throw new ConfigError(name, 'is required but not set');
  return raw;
}

export function integer(env: Env, name: keyof typeof DEFAULTS, min: number, max: number): number {
  const raw = value(env, name);
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${raw}`);
  }
  return n;
}

export function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got "${raw}"`);
  }
  const refusal = checkTransport(url);
  if (refusal === 'scheme') throw new ConfigError(name, 'must use https (plain http only for loopback hosts)');
  if (refusal === 'userinfo') throw new ConfigError(name, 'must not contain credentials');
  if (refusal === 'port') throw new ConfigError(name, 'must use the default https port (other ports only for loopback hosts)');
  if (url.search !== '' || url.hash !== '') throw new ConfigError(name, 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}
