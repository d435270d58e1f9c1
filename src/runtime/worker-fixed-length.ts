/**
 * workerd sends a body it cannot measure (any JS ReadableStream, such as the guarded CDN body) with
 * chunked encoding and drops the Content-Length header the response set. Piping it through a
 * FixedLengthStream declares the length to the runtime, so the caller gets Content-Length again (and a
 * progress bar, and <video> seeking). The length is already checked by guardBody; FixedLengthStream
 * also errors if fewer or more bytes pass, and an error or a cancel still travels both ways.
 */
export function withFixedLength(body: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  return body.pipeThrough(new FixedLengthStream(length));
}
