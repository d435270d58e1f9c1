import type { CacheOutcome } from '../media/serve-media.js';

/** What the app's middleware and handlers share per request (Hono's typed `c.get` / `c.set`). */
export type ProxyEnv = {
  Variables: {
    requestId: string;
    cache: CacheOutcome | undefined;
    /** Content-Length of the answer when the handler knows it, so the log need not read c.res.headers. */
    bytes: number | undefined;
  };
};
