import { fail } from '../errors.js';
import type { Verifier } from './verifier.js';

/** Options of keyless verification (mirrors the reference's `verify sigstore` flags). */
export interface SigstoreVerifyOptions {
  /** Expected signer identity (SAN: email, URI, ...), matched exactly. */
  identity?: string;
  /** Alternative to `identity`: a regular expression the whole SAN must match (anchored). */
  identityRegex?: string;
  /** Expected OIDC issuer, matched exactly. */
  identityProvider: string;
  useStaging?: boolean;
  /** Path to a ClientTrustConfig JSON; wins over useStaging for verification (as the reference). */
  trustConfig?: string;
}

export function sigstoreVerifier(_options: SigstoreVerifyOptions): Verifier {
  throw fail('UNSUPPORTED', 'Sigstore verification is not available yet');
}
