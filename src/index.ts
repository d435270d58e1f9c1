/**
 * What the package exports for backends that mint caller tokens (`import { signMediaToken } from
 * 'whatsapp-media-proxy'`). The proxy itself starts from src/node.ts or src/worker.ts.
 */
export { mediaUrl, type MediaUrlOptions } from './auth/media-url.js';
export { MAX_TTL_SECONDS, signMediaToken, type SignMediaTokenOptions } from './auth/sign-media-token.js';
