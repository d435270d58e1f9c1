/**
 * vitest globalSetup of the workerd test project (Node side): starts the fake Graph + CDN with its
 * control endpoint on loopback and provides their addresses; vitest.config.ts passes them to the
 * Worker as bindings, and the tests reach the control endpoint through `inject`.
 */
import type { TestProject } from 'vitest/node';
import './fake-control-protocol.js';
import { startControlledFake } from './fake-control.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const controlled = await startControlledFake();
  project.provide('fakeUpstream', controlled.info);
  return () => controlled.stop();
}
