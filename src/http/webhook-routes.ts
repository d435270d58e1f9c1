import type { Context, Env as HonoEnv, Hono } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { Background } from '../cache/media-tier.js';
import { DEFAULT_ACCOUNT_NAME as DEFAULT_ACCOUNT } from '../accounts.js';
import type { WebhookConfig } from '../config.js';
import { ProxyError } from '../errors.js';
import { extractMedia } from '../ingest/extract-media.js';
import type { PrefetchIntake } from '../ingest/prefetch-job.js';
import type { VerifySignature } from '../ingest/webhook-signature.js';
import type { Logger } from '../logger.js';
import { createBodyBudget, type BodyBudget } from './body-budget.js';
import { jsonResponse, textResponse } from './problem-response.js';
import { readRequestBody, parseJsonBody } from './read-request-body.js';

/** Meta's deliveries are a few KiB; the issue sets the bound. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/**
 * All delivery bodies being read at once, together. They are read before their signature can be
 * checked, so without a total anyone could hold 1 MiB per open connection (400 slow connections:
 * +390 MB of RSS). 32 of the largest fit; Meta's few-KiB deliveries never come near it.
 */
export const MAX_WEBHOOK_BODIES_BYTES = 32 * MAX_WEBHOOK_BODY_BYTES;
/**
 * How long a delivery's body may take to arrive. Meta sends a few KiB at once; a sender that
 * trickles would otherwise hold its share of the total for as long as Node lets a request run.
 */
export const WEBHOOK_BODY_DEADLINE_MS = 10_000;
/** Meta sends a number; anything that could be markup is refused, never echoed. */
const CHALLENGE = /^[0-9A-Za-z_-]{1,128}$/;

export interface WebhookRouteDeps {
  readonly webhook: WebhookConfig;
  /** The account's signature check; undefined when the account is unknown or has no app secret. */
  readonly verifierFor: (account: string) => VerifySignature | undefined;
  readonly intake: PrefetchIntake;
  readonly background: (c: Context) => Background;
  readonly logger: Logger;
}

/**
 * `GET /webhooks/whatsapp` (Meta's verification handshake) and `POST /webhooks/whatsapp` (deliveries)
 * for the default account; `/webhooks/whatsapp/:account` for the others, each checked with its own
 * app secret. An account without an app secret has no webhook: 404, like an unknown account. An
 * endpoint that cannot check signatures must not take deliveries (several projects skip the check
 * when no secret is set; here it does not exist instead).
 */
export function registerWebhookRoutes<E extends HonoEnv>(app: Hono<E>, deps: WebhookRouteDeps): void {
  const bodies = createBodyBudget(MAX_WEBHOOK_BODIES_BYTES);
  for (const path of ['/webhooks/whatsapp', '/webhooks/whatsapp/:account']) {
    const accountOf = (c: Context): { account: string; verify: VerifySignature } => {
      const account = c.req.param('account') ?? DEFAULT_ACCOUNT;
      const verify = deps.verifierFor(account);
      if (verify === undefined) throw new ProxyError('not_found');
      return { account, verify };
    };

    app.get(path, async (c) => {
      accountOf(c);
      if (c.req.query('hub.mode') !== 'subscribe' || !(await verifyTokenMatches(deps.webhook.verifyToken, c.req.query('hub.verify_token')))) {
        throw new ProxyError('verification_failed');
      }
      const challenge = c.req.query('hub.challenge') ?? '';
      if (!CHALLENGE.test(challenge)) throw new ProxyError('invalid_request', { detail: 'hub.challenge must be a short alphanumeric value' });
      return textResponse(200, challenge, 'text/plain; charset=utf-8');
    });

    app.post(path, (c) => {
      const { account, verify } = accountOf(c);
      return receiveDelivery(c, account, verify, bodies, deps);
    });

    app.all(path, (c) => {
      accountOf(c);
      throw new ProxyError('method_not_allowed', { headers: { allow: 'GET, POST' } });
    });
  }
}

async function verifyTokenMatches(expected: string | undefined, given: string | undefined): Promise<boolean> {
  if (expected === undefined || given === undefined) return false;
  // hono's timingSafeEqual compares SHA-256 digests: the time taken says nothing about the token.
  return timingSafeEqual(expected, given);
}

/**
 * Signature over the raw bytes first, then parsing, then queueing; the answer is a quick 200 (Meta
 * retries slow or failing deliveries for days) and the downloads run after it. Nothing of the body
 * is ever logged: captions, names and phone numbers are personal data.
 */
async function receiveDelivery(c: Context, account: string, verifySignature: VerifySignature, bodies: BodyBudget, deps: WebhookRouteDeps): Promise<Response> {
  const body = await readRequestBody(c.req.raw, MAX_WEBHOOK_BODY_BYTES, { budget: bodies, deadlineMs: WEBHOOK_BODY_DEADLINE_MS });
  if (!(await verifySignature(body, c.req.header('x-hub-signature-256')))) {
    deps.logger.warn({ account, signature: c.req.header('x-hub-signature-256') === undefined ? 'missing' : 'mismatch', bytes: body.byteLength }, 'webhook delivery refused: bad signature');
    throw new ProxyError('invalid_signature');
  }
  const { media, dropped } = extractMedia(parseJsonBody(body));
  if (dropped > 0) deps.logger.warn({ account, taken: media.length, dropped }, 'webhook delivery held more media ids than are taken from one delivery');
  const jobs = media.map((m) => ({ account, id: m.id, hint: m.hint }));
  const { settled } = await deps.intake.accept(jobs);
  deps.background(c).waitUntil(settled);
  if (jobs.length > 0) deps.logger.info({ account, media: jobs.length }, 'webhook delivery accepted');
  return jsonResponse({ media: jobs.length });
}
