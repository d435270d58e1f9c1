import { ConfigError } from './config/env-readers.js';

/**
 * The WhatsApp business accounts one proxy serves. Each has its own system-user token (Graph and the
 * media CDN) and app secret(s) (webhook signatures); `default` is WHATSAPP_TOKEN's. Everything keyed
 * by media id is keyed by account too, so a caller of one account never gets another's media.
 */
export interface Account {
  readonly name: string;
  readonly token: string;
  /** Every secret accepted for webhook signatures (rotation); empty: webhooks of this account are 404. */
  readonly appSecrets: readonly string[];
}

export const ACCOUNT_NAME = /^[a-z0-9_]{1,32}$/;
export const DEFAULT_ACCOUNT_NAME = 'default';

/** `{ "acme": { "token": "…", "appSecret": "…" } }`, WHATSAPP_ACCOUNTS_FILE's format. */
export function parseAccountsFile(text: string): Account[] {
  const variable = 'WHATSAPP_ACCOUNTS_FILE';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(variable, 'is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(variable, 'must be a JSON object of account name → { "token", "appSecret" }');
  const accounts: Account[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (!ACCOUNT_NAME.test(name)) throw new ConfigError(variable, `account name "${name.slice(0, 40)}" must be 1-32 of a-z 0-9 _`);
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(variable, `account "${name}" must be an object`);
    const { token, appSecret } = entry as Record<string, unknown>;
    if (typeof token !== 'string' || token.trim() === '') throw new ConfigError(variable, `account "${name}" has no "token"`);
    if (appSecret !== undefined && typeof appSecret !== 'string') throw new ConfigError(variable, `account "${name}": "appSecret" must be a string`);
    const secrets = splitSecrets(appSecret ?? '');
    const short = checkAppSecrets(secrets);
    if (short !== undefined) throw new ConfigError(variable, `account "${name}": ${short}`);
    accounts.push({ name, token: token.trim(), appSecrets: secrets });
  }
  return accounts;
}

/** Meta app secrets are 32 hex characters; anything much shorter is a paste error, not a secret. */
const MIN_APP_SECRET_LENGTH = 16;

/** What is wrong with these app secrets, or undefined. */
export function checkAppSecrets(secrets: readonly string[]): string | undefined {
  return secrets.some((s) => s.length < MIN_APP_SECRET_LENGTH) ? `each secret must be at least ${MIN_APP_SECRET_LENGTH} characters` : undefined;
}

export function splitSecrets(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The accounts in force. Replaced whole on a reload (SIGHUP with WHATSAPP_ACCOUNTS_FILE): requests
 * already running keep the account they looked up; later ones see the new set. Whatever is built per
 * account (its resolver: lookup cache, not-found memory, rate-limit and token-rejected windows) is
 * built once and kept while the account's token and secrets stay the same.
 */
export class AccountRegistry<PerAccount> {
  private accounts: ReadonlyMap<string, Account>;
  private readonly built = new Map<string, { account: Account; value: PerAccount }>();

  constructor(
    accounts: readonly Account[],
    private readonly build: (account: Account) => PerAccount,
  ) {
    this.accounts = toMap(accounts);
  }

  get(name: string): Account | undefined {
    return this.accounts.get(name);
  }

  /** What `build` made for this account, made on first use; undefined for an account not configured. */
  for(name: string): PerAccount | undefined {
    const account = this.accounts.get(name);
    if (account === undefined) return undefined;
    const existing = this.built.get(name);
    if (existing !== undefined && sameAccount(existing.account, account)) return existing.value;
    const value = this.build(account);
    this.built.set(name, { account, value });
    return value;
  }

  replace(accounts: readonly Account[]): void {
    this.accounts = toMap(accounts);
    for (const name of [...this.built.keys()]) if (!this.accounts.has(name)) this.built.delete(name);
  }
}

function sameAccount(a: Account, b: Account): boolean {
  return a.token === b.token && a.appSecrets.length === b.appSecrets.length && a.appSecrets.every((s, i) => s === b.appSecrets[i]);
}

function toMap(accounts: readonly Account[]): ReadonlyMap<string, Account> {
  return new Map(accounts.map((a) => [a.name, a]));
}
