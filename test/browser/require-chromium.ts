/** `npm run test:browser` runs this first: without a Chromium, say how to get one and fail. */
import { hasChromium, MISSING_CHROMIUM } from './chromium.js';

if (!hasChromium()) {
  console.error(MISSING_CHROMIUM);
  process.exit(1);
}
