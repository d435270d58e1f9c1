/**
 * The wire format of the fake's control endpoint (test/support/fake-control.ts), shared by the Node
 * side that serves it and the tests inside workerd that call it: those cannot reach the FakeWhatsApp
 * object, only loopback HTTP. Kept free of runtime imports so both tsconfigs can include it.
 */
export interface AddMediaCommand {
  readonly id: string;
  readonly size: number;
  readonly seed: number;
  readonly mimeType: string;
  readonly fileSizeAsString?: boolean;
  /** Graph announces this sha256 instead of the bytes' own (an integrity failure). */
  readonly announcedSha256?: string;
  /** Which business account owns it: the fake's own token (default) or the second account's. */
  readonly owner?: 'default' | 'second';
}

export interface AddedMedia {
  readonly sha256: string;
}

export interface ScriptGraphCommand {
  readonly id: string;
  readonly replies: ReadonlyArray<{ readonly status: number; readonly body: unknown; readonly headers?: Record<string, string> }>;
}

export interface SeenUpstreamRequest {
  readonly kind: 'graph' | 'cdn' | 'other';
  readonly method: string;
  readonly mediaId: string | undefined;
  readonly userAgent: string | undefined;
  readonly authorized: boolean;
}

/** A body as the control endpoint's /echo received it over HTTP. */
export interface EchoedBody {
  readonly contentLength: string | null;
  readonly transferEncoding: string | null;
  readonly bytes: number;
  readonly sha256: string;
}

/** What globalSetup provides to the tests (vitest `inject`) and to the Worker's bindings. */
export interface FakeUpstreamInfo {
  /** Base URL of the fake Graph + CDN (GRAPH_API_URL). */
  readonly origin: string;
  /** Base URL of the control endpoint. */
  readonly control: string;
  /** The business token the fake accepts (WHATSAPP_TOKEN). */
  readonly token: string;
  /** A second business account's token (WHATSAPP_TOKEN_<NAME>): its media is its own. */
  readonly secondToken: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    fakeUpstream: FakeUpstreamInfo;
  }
}
