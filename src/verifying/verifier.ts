import type { BundleJSON } from '../bundle/types.js';

export type VerificationMethod = 'key' | 'certificate' | 'sigstore';

/** Who signed, as established by a verifier. Only the fields the method knows are set. */
export interface SignerInfo {
  method: VerificationMethod;
  /** key: sha256 hex of the PEM SPKI (the OMS `hint`). */
  keyHint?: string;
  /** certificate/sigstore: the leaf's subject DN (e.g. `CN=ml-team`). */
  certificateSubject?: string;
  /** certificate: SHA-256 fingerprints (colon-separated upper-case hex) leaf..anchor. */
  certificateFingerprints?: string[];
  /** sigstore: the matched SAN (email, URI, ...). */
  identity?: string;
  /** sigstore: the OIDC issuer from the Fulcio certificate. */
  issuer?: string;
  /** sigstore: the transparency log index (string: int64). */
  logIndex?: string;
  /** sigstore: the verified signing time, ISO 8601. */
  signedAt?: string;
  /** sigstore: which time sources were verified (transparency-log, timestamp-authority). */
  timestampSources?: string[];
  /** sigstore: which trusted root was used (e.g. "shipped public-good root"). */
  trustRoot?: string;
  /** Non-fatal remarks (legacy material, legacy PAE, ...). */
  warnings: string[];
}

/** The outcome of checking a bundle's signature: the payload it covers, and who signed it. */
export interface VerifiedSignature {
  /** The exact DSSE payload bytes (the in-toto statement) that the signature covers. */
  payload: Buffer;
  payloadType: string;
  signer: SignerInfo;
}

/**
 * One implementation per verification method. `verify` must check that the bundle's material
 * matches the method (a key bundle presented to the certificate verifier fails), check
 * `signatures[0]`, and establish the signer; it throws a ModelSealError otherwise.
 */
export interface Verifier {
  readonly method: VerificationMethod;
  verify(bundle: BundleJSON): Promise<VerifiedSignature>;
  /**
   * Optional: check a plain Sigstore bundle made over one file by the Sigstore CLIs (a message
   * signature, no DSSE statement) against that file: the signature over its bytes, and the signed
   * digest against its SHA-256. Only the sigstore method has it.
   */
  verifyFileBundle?(bundle: BundleJSON, file: { path: string; sha256: Buffer }): Promise<SignerInfo>;
}
