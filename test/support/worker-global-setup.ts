/**
 * vitest globalSetup of the workerd test project (Node side): starts the fake Graph + CDN with its
 * control endpoint on loopback and provides their addresses; vitest.config.ts passes them to the
 * Worker as bindings, and the tests reach the control endpoint through `inject`. Also a fake S3, for
 * the S3 store inside workerd (test/worker/store).
 */
import type { TestProject } from 'vitest/node';
import './fake-control-protocol.js';
import { startControlledFake } from './fake-control.js';
import './fake-s3-protocol.js';
import { startFakeS3 } from './fake-s3.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const controlled = await startControlledFake();
  project.provide('fakeUpstream', controlled.info);
  const s3 = await startFakeS3();
  const { region, accessKeyId, secretAccessKey } = s3.credentials;
  project.provide('fakeS3', { endpoint: s3.endpoint, bucket: s3.bucket, region, accessKeyId, secretAccessKey });
  return async () => {
    await s3.close();
    await controlled.stop();
  };
}
