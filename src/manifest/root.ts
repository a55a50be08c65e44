import { createHash } from 'node:crypto';
import type { ManifestItem } from './types.js';

/**
 * The OMS subject digest: SHA-256 over the raw (hex-decoded) resource digests, concatenated in the
 * order given. Always SHA-256, whatever the resources' hash algorithm (spec §6.4).
 */
export function rootDigest(items: readonly ManifestItem[]): string {
  const hash = createHash('sha256');
  for (const item of items) hash.update(Buffer.from(item.digest, 'hex'));
  return hash.digest('hex');
}
