/**
 * `key` verification (spec §2.4, §3). Error codes, consistently:
 * - a non-empty hint that differs from the supplied key's hint → UNTRUSTED_SIGNER ("Key mismatch");
 * - a legacy `rawBytes` key that differs from the supplied key, with a failing signature → UNTRUSTED_SIGNER;
 * - otherwise a signature that does not verify → SIGNATURE_INVALID (tampered, or wrong key without hint).
 */
import { createHash, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { checkMaterialForMethod, parseBundle } from '../bundle/bundle.js';
import { ecdsaHashForKey, verifyEnvelopeSignature } from '../bundle/dsse.js';
import type { BundleJSON } from '../bundle/types.js';
import { fail } from '../errors.js';
import { keyHint, loadPublicKey } from '../signing/ec-keys.js';
import type { VerifiedSignature, Verifier } from './verifier.js';

export interface KeyVerifierOptions {
  /** PEM text of the public key (not a path). */
  publicKey: string | Buffer;
}

export const OLD_MATERIAL_WARNING =
  'the signature uses an old verification-material format without a key hint; re-sign it with a current signer';
export const LEGACY_PAE_WARNING = 'the signature covers the pre-1.0 (v0.2) DSSE encoding; re-sign it with a current signer';

/** True when the legacy `rawBytes` (base64 of PEM text) names a key other than `key`. */
function rawBytesNameAnotherKey(rawBytes: string | undefined, key: KeyObject): boolean {
  if (!rawBytes) return false;
  try {
    const other = createPublicKey(Buffer.from(rawBytes, 'base64').toString('utf8'));
    return !other.export({ type: 'spki', format: 'der' }).equals(key.export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

export function keyVerifier(options: KeyVerifierOptions): Verifier {
  const publicKey = loadPublicKey(options.publicKey);
  const hash = ecdsaHashForKey(publicKey);
  const hint = keyHint(publicKey);
  return {
    method: 'key',
    async verify(input: BundleJSON): Promise<VerifiedSignature> {
      const bundle = parseBundle(input);
      checkMaterialForMethod(bundle, 'key');
      const envelope = bundle.dsseEnvelope!;
      const material = bundle.verificationMaterial.publicKey!;
      const warnings: string[] = [];
      if (material.hint) {
        if (material.hint !== hint) {
          throw fail('UNTRUSTED_SIGNER', `Key mismatch: the signature was made with key ${material.hint}, but the supplied public key is ${hint}`);
        }
      } else {
        warnings.push(OLD_MATERIAL_WARNING);
      }
      // The reference retries the legacy PAE with the curve's hash for keys (v0.2 keys were P-256).
      const checked = verifyEnvelopeSignature(envelope, publicKey, hash, [hash]);
      if (!checked) {
        if (rawBytesNameAnotherKey(material.rawBytes, publicKey)) {
          const theirs = createHash('sha256').update(Buffer.from(material.rawBytes!, 'base64')).digest('hex');
          throw fail('UNTRUSTED_SIGNER', `Key mismatch: the signature was made with key ${theirs}, but the supplied public key is ${hint}`);
        }
        throw fail('SIGNATURE_INVALID', 'the signature does not verify with the supplied public key (wrong key, or the signature file was altered)');
      }
      if (checked.legacy) warnings.push(LEGACY_PAE_WARNING);
      return { payload: checked.payload, payloadType: envelope.payloadType, signer: { method: 'key', keyHint: hint, warnings } };
    },
  };
}
