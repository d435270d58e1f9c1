/**
 * What the Worker test project learns about the fake S3 started by test/support/worker-global-setup.ts:
 * the store tests inside workerd build an S3 store from it. Free of runtime imports so both tsconfigs
 * can include it.
 */
export interface FakeS3Info {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    fakeS3: FakeS3Info;
  }
}
