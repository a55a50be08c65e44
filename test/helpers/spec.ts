/** Values taken verbatim from the spec text (§13.1), read from the shared spec file itself. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './paths.js';

const specText = readFileSync(join(SHARED, 'spec', 'oms-format.md'), 'utf8');

/** The complete §13.1 bundle (the one-line JSON starting with {"mediaType"). */
export function specBundleText(): string {
  const line = specText.split('\n').find((l) => l.startsWith('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"'));
  if (!line) throw new Error('§13.1 bundle not found in the spec');
  return line;
}

/** The §13.1 throw-away P-256 public key (the PEM block after "hint 893cd999..."). */
export function specPublicKeyPem(): string {
  const at = specText.indexOf('hint `893cd999cb65a8c4e2c1bbcbc9219708bc7f8577005c3a1f257c80a42946e535`');
  const start = specText.indexOf('-----BEGIN PUBLIC KEY-----', at);
  const end = specText.indexOf('-----END PUBLIC KEY-----', start) + '-----END PUBLIC KEY-----'.length;
  return `${specText.slice(start, end)}\n`;
}

/** The §2.4 conformance P-384 public key (hint e8450dec...). */
export function specP384PublicKeyPem(): string {
  const at = specText.indexOf('### 2.4');
  const start = specText.indexOf('```\n-----BEGIN PUBLIC KEY-----', at) + 4;
  const end = specText.indexOf('-----END PUBLIC KEY-----', start) + '-----END PUBLIC KEY-----'.length;
  return `${specText.slice(start, end)}\n`;
}
