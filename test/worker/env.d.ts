// Types `wrangler types` cannot know: the two secrets (set with `wrangler secret put`, so absent from
// wrangler.toml), the binding the test config adds, and the main module behind `exports.default`.
declare namespace Cloudflare {
  interface Env {
    WHATSAPP_TOKEN: string;
    JWT_SECRET: string;
    FAKE_CONTROL_URL: string;
    WHATSAPP_APP_SECRET: string;
    PREFETCH_QUEUE: Queue;
  }
  interface GlobalProps {
    mainModule: typeof import('../../src/worker.js');
  }
}
