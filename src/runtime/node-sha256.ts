import { createHash } from 'node:crypto';
import type { CreateSha256 } from '../hash.js';

export const createNodeSha256: CreateSha256 = () => {
  const hash = createHash('sha256');
  return {
    update: (chunk) => void hash.update(chunk),
    digestHex: async () => hash.digest('hex'),
  };
};
