import type { Context, Env as HonoEnv, Hono } from 'hono';
import type { VerifyCallerToken } from '../auth/verify-caller-token.js';
import type { Background } from '../cache/media-tier.js';
import type { VerifySignature } from '../ingest/webhook-signature.js';
import { createIngestion, type Ingestion, type IngestionDeps, type IngestionOptions } from '../ingest/ingestion.js';
import { registerPrefetchRoute } from './prefetch-route.js';
import { registerWebhookRoutes } from './webhook-routes.js';

export interface MountIngestionDeps extends IngestionDeps {
  readonly background: (c: Context) => Background;
  readonly verifyCallerToken: VerifyCallerToken;
  /** The account's webhook signature check (undefined: unknown account, or no app secret). */
  readonly verifierFor: (account: string) => VerifySignature | undefined;
  readonly knowsAccount: (account: string) => boolean;
}

/** Builds ingestion (ingestor, queue or intake) and registers its endpoints on the app. */
export function mountIngestion<E extends HonoEnv>(app: Hono<E>, options: IngestionOptions, deps: MountIngestionDeps): Ingestion {
  const ingestion = createIngestion(options, deps);
  const { intake } = ingestion;
  registerWebhookRoutes(app, { webhook: deps.config.webhook, verifierFor: deps.verifierFor, intake, background: deps.background, logger: deps.logger });
  registerPrefetchRoute(app, { verifyCallerToken: deps.verifyCallerToken, intake, background: deps.background, knowsAccount: deps.knowsAccount });
  return ingestion;
}
