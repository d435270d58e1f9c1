/** How much of a path the log keeps. */
const MAX_LOGGED_PATH = 256;
/** How much of it is looked at: a path can be as long as Node's 16 KiB header limit allows. */
const SCANNED_PATH = 2 * MAX_LOGGED_PATH;
/**
 * Something shaped like a JWT (three base64url segments; the third may be empty). It may only start
 * where a run of [\w-] starts: without the lookbehind, a long run without a dot is re-scanned from
 * every position, quadratic in its length (a 16 000-character path took 0.4-0.8 s of the event loop
 * per request, from anyone, without a token).
 */
const JWT_SHAPED = /(?<![\w-])[\w-]{10,}\.[\w-]{10,}(?:\.[\w-]*)?/g;

/**
 * The path as logged: a JWT pasted into a path (a client bug) is redacted like one in a query (which
 * is never logged), and the length is bounded so a hostile path cannot flood the log. A token that
 * starts among the kept characters reaches well into the scanned ones and is redacted; only one whose
 * first segment (its header, not secret) runs past the scan would keep part of that header.
 */
export function loggablePath(path: string): string {
  const redacted = path.slice(0, SCANNED_PATH).replace(JWT_SHAPED, '<redacted>');
  return redacted.length > MAX_LOGGED_PATH || path.length > SCANNED_PATH ? `${redacted.slice(0, MAX_LOGGED_PATH)}…` : redacted;
}
