import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * An AWS Signature Version 4 header check of our own, written from the AWS documentation ("Create a
 * signed AWS API request", "Authenticating Requests: Using the Authorization Header") with node:crypto,
 * sharing no code with aws4fetch, so the fake S3 refuses what real S3 would: a wrong secret, a header
 * changed after signing, an unsigned x-amz-* header, a stale x-amz-date.
 */

export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** When set, requests must carry it, signed, as x-amz-security-token. */
  readonly sessionToken?: string;
}

export interface SigV4Request {
  readonly method: string;
  /** The request target as sent: path and query, still percent-encoded. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
}

export interface SigV4Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** AWS allows 15 minutes between x-amz-date and the server's clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** RFC 3986 strict: everything but unreserved characters is %XX, upper-case (the AWS UriEncode). */
function uriEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const [k = '', v = ''] = pair.split('=', 2);
      return [uriEncode(decodeURIComponent(k.replace(/\+/g, ' '))), uriEncode(decodeURIComponent(v.replace(/\+/g, ' ')))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw.join(',') : raw).trim().replace(/\s+/g, ' ');
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

function parseAmzDate(raw: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(raw);
  if (m === null) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** undefined when the request is signed by `creds` as S3 requires; else S3's refusal. */
export function checkSigV4(request: SigV4Request, creds: SigV4Credentials, now: number): SigV4Refusal | undefined {
  const refuse = (status: number, code: string, message: string): SigV4Refusal => ({ status, code, message });
  const auth = headerValue(request.headers, 'authorization');
  if (auth === undefined) return refuse(403, 'AccessDenied', 'Anonymous access is forbidden');
  const m = AUTH.exec(auth);
  if (m === null) return refuse(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
  const [, accessKeyId = '', date = '', region = '', service = '', signedList = '', signature = ''] = m;
  if (accessKeyId !== creds.accessKeyId) return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (region !== creds.region || service !== 's3') return refuse(400, 'AuthorizationHeaderMalformed', `the region '${region}' is wrong; expecting '${creds.region}'`);

  const amzDate = headerValue(request.headers, 'x-amz-date') ?? '';
  const time = parseAmzDate(amzDate);
  if (time === undefined || !amzDate.startsWith(date)) return refuse(403, 'AccessDenied', 'x-amz-date is missing or disagrees with the credential scope');
  if (Math.abs(now - time) > MAX_SKEW_MS) return refuse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');

  const payloadHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (payloadHash === undefined) return refuse(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');

  const signed = signedList.split(';');
  const sorted = [...signed].sort();
  if (signed.join(';') !== sorted.join(';') || !signed.includes('host')) return refuse(403, 'SignatureDoesNotMatch', 'SignedHeaders must be sorted and include host');
  // S3 requires every x-amz-* header that is sent to be signed.
  for (const name of Object.keys(request.headers)) {
    if (name.startsWith('x-amz-') && !signed.includes(name)) return refuse(403, 'AccessDenied', `There were headers present in the request which were not signed: ${name}`);
  }
  if (creds.sessionToken !== undefined && headerValue(request.headers, 'x-amz-security-token') !== creds.sessionToken) {
    return refuse(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
  }

  const queryAt = request.target.indexOf('?');
  const rawPath = queryAt === -1 ? request.target : request.target.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? '' : request.target.slice(queryAt + 1);
  const canonicalUri = rawPath
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
  const canonicalHeaders = signed.map((name) => `${name}:${headerValue(request.headers, name) ?? ''}\n`).join('');
  const canonicalRequest = [request.method, canonicalUri, canonicalQuery(rawQuery), canonicalHeaders, signedList, payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, date), region), 's3'), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  return undefined;
}
