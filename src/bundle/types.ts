/**
 * The Sigstore bundle as JSON (protobuf-JSON field names), restricted to what OMS uses.
 * Binary fields are standard base64 with padding; int64 fields are strings.
 */
export const BUNDLE_MEDIA_TYPE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignatureJSON {
  sig: string;
  keyid?: string | null;
}

export interface DsseEnvelopeJSON {
  payload: string;
  payloadType: string;
  signatures: DsseSignatureJSON[];
}

export interface VerificationMaterialJSON {
  publicKey?: { hint?: string; rawBytes?: string; keyDetails?: string };
  x509CertificateChain?: { certificates: { rawBytes: string }[] };
  certificate?: { rawBytes: string };
  tlogEntries?: unknown[];
  timestampVerificationData?: unknown;
}

export interface BundleJSON {
  mediaType: string;
  verificationMaterial: VerificationMaterialJSON;
  dsseEnvelope?: DsseEnvelopeJSON;
  /** Only in plain Sigstore bundles over a single file (`sigstore sign model.joblib`). */
  messageSignature?: { messageDigest: { algorithm: string; digest: string }; signature: string };
}
