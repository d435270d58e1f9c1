/**
 * Cloudflare Workers entrypoint: the only file (with src/runtime/worker-* and the edge cache tier)
 * that knows it runs on Workers. The same portable app as src/node.ts, configured from the Worker's
 * `env` with the same variable names; see wrangler.toml and README "Cloudflare Workers".
 */
import { createWorkerHandler } from './runtime/worker-handler.js';

export default createWorkerHandler();
