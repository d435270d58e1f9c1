import type { Fetch } from '../../src/upstream/fetch-upstream.js';

export interface Contact {
  readonly url: string;
  readonly authorization: string | null;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/**
 * Node's fetch, recording every URL the proxy asks it for and the headers it sends there;
 * `decorate` may rewrite the answer (to play a hostile upstream).
 */
export function recordingFetch(contacts: Contact[], decorate?: (url: URL, response: Response) => Response): Fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const headers = new Headers(init?.headers);
    contacts.push({ url: url.href, authorization: headers.get('authorization'), headers: [...headers] });
    const response = await fetch(input, init);
    return decorate ? decorate(url, response) : response;
  };
}
