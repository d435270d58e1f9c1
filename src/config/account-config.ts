import { ACCOUNT_NAME, checkAppSecrets, DEFAULT_ACCOUNT_NAME, splitSecrets, type Account } from '../accounts.js';
import { ConfigError, list, optional, required, type Env } from './env-readers.js';

export interface WebhookConfig {
  /** WEBHOOK_VERIFY_TOKEN, for Meta's GET handshake; unset: every handshake answers 403. */
  readonly verifyToken: string | undefined;
}

/**
 * WHATSAPP_TOKEN (+ WHATSAPP_APP_SECRET) is the account `default`; WHATSAPP_ACCOUNTS=acme,globex adds
 * WHATSAPP_TOKEN_ACME, WHATSAPP_APP_SECRET_ACME, … (names upper-cased): the same names work as Node
 * environment variables and as Workers secrets. The default account need not exist when others do.
 */
export function loadAccounts(env: Env): { accounts: Account[]; accountsFile: string | undefined } {
  const accounts: Account[] = [];
  const defaultToken = optional(env, 'WHATSAPP_TOKEN');
  if (defaultToken !== undefined) accounts.push({ name: DEFAULT_ACCOUNT_NAME, token: defaultToken, appSecrets: appSecrets(env, 'WHATSAPP_APP_SECRET') });
  for (const name of list(optional(env, 'WHATSAPP_ACCOUNTS') ?? '')) {
    if (!ACCOUNT_NAME.test(name)) throw new ConfigError('WHATSAPP_ACCOUNTS', `"${name.slice(0, 40)}" is not an account name (1-32 of a-z 0-9 _)`);
    if (name === DEFAULT_ACCOUNT_NAME) throw new ConfigError('WHATSAPP_ACCOUNTS', 'the default account is WHATSAPP_TOKEN; do not list it');
    if (accounts.some((a) => a.name === name)) throw new ConfigError('WHATSAPP_ACCOUNTS', `"${name}" is listed twice`);
    const suffix = name.toUpperCase();
    accounts.push({ name, token: required(env, `WHATSAPP_TOKEN_${suffix}`), appSecrets: appSecrets(env, `WHATSAPP_APP_SECRET_${suffix}`) });
  }
  const accountsFile = optional(env, 'WHATSAPP_ACCOUNTS_FILE');
  if (accounts.length === 0 && accountsFile === undefined) throw new ConfigError('WHATSAPP_TOKEN', 'is required but not set (or configure WHATSAPP_ACCOUNTS / WHATSAPP_ACCOUNTS_FILE)');
  return { accounts, accountsFile };
}

export function appSecrets(env: Env, name: string): string[] {
  const secrets = splitSecrets(optional(env, name) ?? '');
  const short = checkAppSecrets(secrets);
  if (short !== undefined) throw new ConfigError(name, short);
  return secrets;
}

/** The accounts of the environment and of WHATSAPP_ACCOUNTS_FILE together; a name in both is an error. */
export function mergeAccounts(fromEnv: readonly Account[], fromFile: readonly Account[]): Account[] {
  const clash = fromFile.find((f) => fromEnv.some((e) => e.name === f.name));
  if (clash) throw new ConfigError('WHATSAPP_ACCOUNTS_FILE', `account "${clash.name}" is also configured in the environment`);
  return [...fromEnv, ...fromFile];
}

export function loadWebhookConfig(env: Env, accounts: readonly Account[], accountsFile: string | undefined): WebhookConfig {
  const verifyToken = optional(env, 'WEBHOOK_VERIFY_TOKEN');
  // A verify token without any app secret would pass Meta's handshake on an endpoint that then answers
  // 404 to every delivery: refuse the half-configuration at start instead.
  if (verifyToken !== undefined && accountsFile === undefined && accounts.every((a) => a.appSecrets.length === 0)) {
    throw new ConfigError('WEBHOOK_VERIFY_TOKEN', 'needs WHATSAPP_APP_SECRET (the webhook endpoints are off without it)');
  }
  if (verifyToken !== undefined && verifyToken.length > 256) throw new ConfigError('WEBHOOK_VERIFY_TOKEN', 'must be at most 256 characters');
  return { verifyToken };
}
