/**
 * Which Chromium the browser suite drives, and how. Debian's package (`apt-get install -y chromium`)
 * unless CHROMIUM_PATH says otherwise; playwright-core brings no browser of its own.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const MISSING_CHROMIUM = `The browser suite needs Chromium at ${CHROMIUM_PATH}, which is not there.
Install Debian's: apt-get update && apt-get install -y chromium
(or point CHROMIUM_PATH at another Chromium).`;

export function hasChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Playwright gives it a fresh profile (--user-data-dir) and --no-sandbox (chromiumSandbox is off
    // by default; CI runs as root). Without the background-networking flags, Chromium keeps trying
    // Google's hosts, which a closed network refuses.
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
