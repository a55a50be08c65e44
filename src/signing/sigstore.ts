/**
 * Sigstore keyless signing: an OIDC identity token, a short-lived Fulcio certificate, a Rekor
 * `dsse` entry and (when the signing config lists one) an RFC 3161 timestamp, with the OMS
 * statement bytes as the DSSE payload. Bundles match the reference's: v0.3 media type, single
 * leaf certificate, no keyid.
 */
import { bundleToJSON } from '@sigstore/bundle';
import { bundleBuilderFromSigningConfig } from '@sigstore/sign';
import type { BundleJSON } from '../bundle/types.js';
import { BUNDLE_MEDIA_TYPE_V03, IN_TOTO_PAYLOAD_TYPE } from '../bundle/types.js';
import { fail, ModelSealError } from '../errors.js';
import { decodeJwtClaims, getIdentityToken, type Env, type InteractiveOptions } from '../oidc/index.js';
import { oidcIssuerFromSigningConfig, resolveSigningConfig, selectService } from '../trust/index.js';
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
  /** Optional: per-request timeout for Fulcio/Rekor/TSA, ms (default 10000; Rekor v2 at least 20000). */
  timeoutMs?: number;
  /** Optional: retries per request on network errors / 5xx (default 2). */
  retries?: number;
  /** Optional: environment used for ambient credential detection (default process.env). */
  env?: Env;
  /** Optional: hooks for the interactive flows (open the URL, stdin/stderr replacements, timeout). */
  interactive?: Omit<InteractiveOptions, 'issuer' | 'clientId' | 'clientSecret' | 'forceOob'>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 2;

function mapSignError(e: unknown): ModelSealError {
  if (e instanceof ModelSealError) return e;
  const err = e as { code?: string; message?: string; cause?: unknown };
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  if (/selector|signing configuration/i.test(err.message ?? '')) {
    return fail('BAD_INPUT', `the signing config cannot be used: ${err.message}`, { cause: e });
  }
  return fail('NETWORK', `Sigstore signing failed${err.code ? ` (${err.code})` : ''}: ${err.message ?? String(e)}${cause}`, { cause: e });
}

export function sigstoreSigner(options: SigstoreSignOptions = {}): Signer {
  // Read the config now so a bad --trust-config fails before the model is hashed.
  const trust: { useStaging?: boolean; trustConfig?: string } = {};
  if (options.useStaging) trust.useStaging = true;
  if (options.trustConfig) trust.trustConfig = options.trustConfig;
  const { config } = resolveSigningConfig(trust);
  if (!selectService(config.caUrls, 1)) throw fail('BAD_INPUT', 'the signing config lists no usable certificate authority (caUrls)');
  if (!config.rekorTlogUrls.length) throw fail('BAD_INPUT', 'the signing config lists no transparency log (rekorTlogUrls)');
  if (options.identityToken !== undefined) decodeJwtClaims(options.identityToken.trim());

  return {
    method: 'sigstore',
    async sign(statement: Buffer): Promise<BundleJSON> {
      const tokenOptions: Parameters<typeof getIdentityToken>[0] = {
        issuer: options.identityToken || options.useAmbientCredentials ? '' : oidcIssuerFromSigningConfig(config),
      };
      if (options.identityToken) tokenOptions.identityToken = options.identityToken;
      if (options.useAmbientCredentials) tokenOptions.useAmbientCredentials = true;
      if (options.oauthForceOob) tokenOptions.oauthForceOob = true;
      if (options.clientId) tokenOptions.clientId = options.clientId;
      if (options.clientSecret) tokenOptions.clientSecret = options.clientSecret;
      if (options.env) tokenOptions.env = options.env;
      if (options.interactive) tokenOptions.interactive = options.interactive;
      const token = await getIdentityToken(tokenOptions);
      decodeJwtClaims(token);

      let json: BundleJSON;
      try {
        const builder = bundleBuilderFromSigningConfig({
          signingConfig: config,
          identityProvider: { getToken: async () => token },
          bundleType: 'dsseEnvelope',
          fetchOptions: {
            timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            retry: { retries: options.retries ?? DEFAULT_RETRIES, factor: 2, minTimeout: 250, maxTimeout: 2000 },
          },
        });
        const bundle = await builder.create({ data: statement, type: IN_TOTO_PAYLOAD_TYPE });
        json = bundleToJSON(bundle) as unknown as BundleJSON;
      } catch (e) {
        throw mapSignError(e);
      }
      if (json.mediaType !== BUNDLE_MEDIA_TYPE_V03) throw fail('NETWORK', `Sigstore signing produced media type ${json.mediaType}, expected ${BUNDLE_MEDIA_TYPE_V03}`);
      // The reference (sigstore-python) writes no keyid for keyless signatures.
      for (const s of json.dsseEnvelope?.signatures ?? []) if (!s.keyid) delete s.keyid;
      return json;
    },
  };
}
