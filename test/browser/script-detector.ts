/**
 * Opens a URL as a top-level page in a fresh browser context and reports the marks the samples'
 * script leaves when it runs (see scripts/make-samples.sh): the title, a console line,
 * localStorage, a cookie. A fresh context each time, because cookies are kept per host, not per
 * port: a control's cookie on 127.0.0.1 would otherwise show up on the proxy's origin too.
 */
import type { Browser } from 'playwright-core';

/** The title the samples' script sets. */
export const SCRIPT_MARK = 'script ran';

export interface Watched {
  readonly title: string;
  readonly console: readonly string[];
  /** localStorage's `sample-script-ran` on the page's origin (null also when storage is denied). */
  readonly storage: string | null;
  /** localStorage's `sample-script-ran` on `inspectOrigin`, read afterwards from its `inspectPath`. */
  readonly originStorage: string | null | undefined;
  /** Every cookie the context holds afterwards (it starts with none). */
  readonly cookies: readonly string[];
  /** The suggested file name, when the browser downloaded the URL instead of showing it. */
  readonly download: string | undefined;
}

export async function openAndWatch(browser: Browser, url: string, inspect?: { readonly origin: string; readonly path: string }): Promise<Watched> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const lines: string[] = [];
  page.on('console', (message) => lines.push(message.text()));
  const download = page.waitForEvent('download', { timeout: 5000 }).then(
    (d) => d.suggestedFilename(),
    () => undefined,
  );
  let downloading = false;
  try {
    await page.goto(url, { waitUntil: 'load' });
  } catch (error) {
    // Playwright's goto fails this way when the navigation became a download.
    if (!String(error).includes('Download is starting')) throw error;
    downloading = true;
  }
  const title = await page.title();
  const readStorage = () => {
    try {
      return localStorage.getItem('sample-script-ran');
    } catch {
      return null;
    }
  };
  const storage = await page.evaluate(readStorage);
  let originStorage: string | null | undefined;
  if (inspect !== undefined) {
    await page.goto(inspect.origin + inspect.path);
    originStorage = await page.evaluate(readStorage);
  }
  const cookies = (await context.cookies()).map((c) => `${c.name}=${c.value}`);
  const watched = { title, console: lines, storage, originStorage, cookies, download: downloading ? await download : undefined };
  await context.close();
  return watched;
}
