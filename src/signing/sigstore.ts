import { fail } from '../errors.js';
import type { Signer } from './signer.js';

/** Options of keyless signing (mirrors the reference's `sign sigstore` flags). */
export interface SigstoreSignOptions {
  /** An OIDC identity token to use as is (skips every other way of getting one). */
  identityToken?: string;
  /** Target Sigstore's staging instance. Wins over trustConfig for signing (as the reference). */
  useStaging?: boolean;
  /** Path to a ClientTrustConfig JSON (trusted root + signing config) for a private Sigstore. */
  trustConfig?: string;
  /** Use the CI workload's ambient identity (GitHub Actions, GitLab CI, Buildkite, GCP). */
  useAmbientCredentials?: boolean;
  /** Out-of-band OAuth: print the URL and read the code from stdin instead of a localhost redirect. */
  oauthForceOob?: boolean;
  /** OAuth client id (default "sigstore") and secret (default ""). */
  clientId?: string;
  clientSecret?: string;
}

export function sigstoreSigner(_options: SigstoreSignOptions = {}): Signer {
  throw fail('UNSUPPORTED', 'Sigstore keyless signing is not available yet');
}
