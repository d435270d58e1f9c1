import { readFileSync } from 'node:fs';
import { parseAccountsFile, type Account } from '../accounts.js';
import { ConfigError, mergeAccounts, type Config } from '../config.js';

/**
 * The accounts in force on Node: the environment's plus WHATSAPP_ACCOUNTS_FILE's (a mounted secret,
 * for hundreds of accounts). Throws a ConfigError naming the variable when the file is unreadable
 * or malformed; the caller decides whether that stops the start or keeps the old accounts (reload).
 */
export function readAccounts(config: Config): Account[] {
  if (config.accountsFile === undefined) return [...config.accounts];
  let text: string;
  try {
    text = readFileSync(config.accountsFile, 'utf8');
  } catch (error) {
    throw new ConfigError('WHATSAPP_ACCOUNTS_FILE', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const accounts = mergeAccounts(config.accounts, parseAccountsFile(text));
  if (accounts.length === 0) throw new ConfigError('WHATSAPP_ACCOUNTS_FILE', 'configures no account (and WHATSAPP_TOKEN is not set)');
  return accounts;
}
