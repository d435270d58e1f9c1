/**
 * `npm run token -- --media 123,456 --ttl 15m [--window 1h]` prints a caller token for a try or for scripts,
 * signed with the first JWT_SECRET of the configuration `npm start` would use (.env, then the
 * environment). The token goes to stdout alone; everything else to stderr.
 */
import { parseArgs } from 'node:util';
import { MAX_TTL_SECONDS, signMediaToken } from '../src/auth/sign-media-token.js';
import { ConfigError, loadAuthConfig } from '../src/config.js';
import { loadDotEnv } from '../src/runtime/node-env.js';

const USAGE = `usage: npm run token -- --media <id,id,...|*> [--ttl 15m] [--window 1h] [--acct <name>] [--scope "<scopes>"]
                          [--issuer <iss>] [--audience <aud>]
  --media     media ids the token covers, comma-separated, or * for all
  --ttl       lifetime: seconds, or a number with s, m, h or d (default 15m, at most 30d)
  --window    align iat/exp to windows of this length (same units as --ttl): every token minted
              within one window is the same string, valid from ttl up to window + ttl
              (window + ttl at most 30d)
  --acct      acct claim: the account the token is for, 1 to 32 of a-z, 0-9 and _
  --scope     scope claim: space-separated scopes, e.g. "media:delete media:prefetch"
  --issuer    iss claim (default JWT_ISSUER)
  --audience  aud claim (default JWT_AUDIENCE)`;

class UsageError extends Error {}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

function parseDuration(flag: string, text: string): number {
  const match = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  if (match === null) throw new UsageError(`${flag} "${text}" is not a duration like 900, 15m, 2h or 1d`);
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
  if (seconds <= 0 || seconds > MAX_TTL_SECONDS) throw new UsageError(`${flag} must be between 1s and 30d`);
  return seconds;
}

async function main(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      media: { type: 'string' },
      ttl: { type: 'string', default: '15m' },
      window: { type: 'string' },
      acct: { type: 'string' },
      scope: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) throw new UsageError('');
  if (values.media === undefined || values.media.trim() === '') throw new UsageError('--media is required');
  const media = values.media.trim() === '*' ? '*' : values.media.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const ttlSeconds = parseDuration('--ttl', values.ttl);
  const windowSeconds = values.window === undefined ? undefined : parseDuration('--window', values.window);

  loadDotEnv();
  const auth = loadAuthConfig(process.env);
  const [secret] = auth.secrets;
  if (secret === undefined) {
    throw new ConfigError('JWT_SECRET', 'is not set: this proxy verifies with JWT_PUBLIC_KEY/JWKS_URL, so sign tokens with your issuer\'s private key');
  }
  if (!auth.algorithms.includes('HS256')) throw new ConfigError('JWT_ALGORITHMS', 'does not include HS256, so the proxy would refuse a token from this tool');
  const issuer = values.issuer ?? auth.issuer;
  const audience = values.audience ?? auth.audience;
  return signMediaToken({
    secret,
    media,
    ttlSeconds,
    ...(windowSeconds === undefined ? {} : { windowSeconds }),
    ...(values.acct === undefined ? {} : { account: values.acct }),
    ...(values.scope === undefined ? {} : { scope: values.scope }),
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
  });
}

try {
  process.stdout.write(`${await main(process.argv.slice(2))}\n`);
} catch (error) {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`${error.message ? `token: ${error.message}\n` : ''}${USAGE}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError || error instanceof RangeError || error instanceof TypeError) {
    process.stderr.write(`token: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
