import type { Context, Env as HonoEnv, Hono } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { Background } from '../cache/media-cache.js';
import { DEFAULT_ACCOUNT } from '../cache/media-tier.js';
import type { WebhookConfig } from '../config.js';
import { ProxyError } from '../errors.js';
import { extractMedia } from '../ingest/extract-media.js';
import type { PrefetchIntake } from '../ingest/prefetch-job.js';
import { createSignatureVerifier, type VerifySignature } from '../ingest/webhook-signature.js';
import type { Logger } from '../logger.js';
import { jsonResponse, textResponse } from './problem-response.js';
import { readRequestBody, parseJsonBody } from './read-request-body.js';

/** Meta's deliveries are a few KiB; the issue sets the bound. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/** Meta sends a number; anything that could be markup is refused, never echoed. */
const CHALLENGE = /^[0-9A-Za-z_-]{1,128}$/;

export interface WebhookRouteDeps {
  /** The default account's webhook settings (issue 13 adds `/webhooks/whatsapp/:account`). */
  readonly webhook: WebhookConfig;
  readonly intake: PrefetchIntake;
  readonly background: (c: Context) => Background;
  readonly logger: Logger;
}

/**
 * `GET /webhooks/whatsapp` (Meta's verification handshake) and `POST /webhooks/whatsapp` (deliveries).
 * Without WHATSAPP_APP_SECRET nothing is registered, so both answer the app's 404: an endpoint that
 * cannot check signatures must not take deliveries (several projects skip the check when no secret
 * is set; this one does not exist instead).
 */
export function registerWebhookRoutes<E extends HonoEnv>(app: Hono<E>, deps: WebhookRouteDeps): void {
  if (deps.webhook.appSecrets.length === 0) return;
  const verifySignature = createSignatureVerifier(deps.webhook.appSecrets);
  const path = '/webhooks/whatsapp';

  app.get(path, async (c) => {
    if (c.req.query('hub.mode') !== 'subscribe' || !(await verifyTokenMatches(deps.webhook.verifyToken, c.req.query('hub.verify_token')))) {
      throw new ProxyError('verification_failed');
    }
    const challenge = c.req.query('hub.challenge') ?? '';
    if (!CHALLENGE.test(challenge)) throw new ProxyError('invalid_request', { detail: 'hub.challenge must be a short alphanumeric value' });
    return textResponse(200, challenge, 'text/plain; charset=utf-8');
  });

  app.post(path, (c) => receiveDelivery(c, DEFAULT_ACCOUNT, verifySignature, deps));

  app.all(path, () => {
    throw new ProxyError('method_not_allowed', { headers: { allow: 'GET, POST' } });
  });
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
async function receiveDelivery(c: Context, account: string, verifySignature: VerifySignature, deps: WebhookRouteDeps): Promise<Response> {
  const body = await readRequestBody(c.req.raw, MAX_WEBHOOK_BODY_BYTES);
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
