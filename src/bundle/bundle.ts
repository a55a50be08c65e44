/**
 * The Sigstore bundle layer (spec §2, §3): structural parsing, the material ↔ method rule, and
 * the exact bundle shape the reference writes for key and certificate signatures.
 */
import { fail } from '../errors.js';
import type { VerificationMethod } from '../verifying/verifier.js';
import { BUNDLE_MEDIA_TYPE_V03, IN_TOTO_PAYLOAD_TYPE } from './types.js';
import type { BundleJSON, VerificationMaterialJSON } from './types.js';

/** The other spelling of the v0.3 media type, accepted for key/certificate bundles (spec §2.2). */
export const BUNDLE_MEDIA_TYPE_V03_ALT = 'application/vnd.dev.sigstore.bundle+json;version=0.3';
const SIGSTORE_MEDIA_TYPE_PREFIX = /^application\/vnd\.dev\.sigstore\.bundle/;

function bad(message: string): never {
  throw fail('BAD_BUNDLE', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// protobuf-JSON readers accept both base64 alphabets, with or without padding. A plain
// character-class regex: grouped repetition overflows V8's stack on multi-megabyte payloads.
const BASE64_CHARS = /^[A-Za-z0-9+/_-]*={0,2}$/;

function isBase64(value: string): boolean {
  if (!BASE64_CHARS.test(value)) return false;
  const padded = value.endsWith('=');
  const dataLength = value.replace(/=+$/, '').length;
  return padded ? value.length % 4 === 0 && dataLength % 4 !== 0 : dataLength % 4 !== 1;
}

function checkBase64(value: unknown, field: string, allowEmpty = false): void {
  if (typeof value !== 'string') bad(`${field} is missing or not a string`);
  if (!allowEmpty && value === '') bad(`${field} is empty`);
  if (!isBase64(value)) bad(`${field} is not valid base64`);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') bad('the signature file is empty');
  try {
    return JSON.parse(text);
  } catch {
    bad('the signature file is not valid JSON (truncated or corrupted?)');
  }
}

const MATERIAL_KINDS = ['publicKey', 'x509CertificateChain', 'certificate'] as const;
type MaterialKind = (typeof MATERIAL_KINDS)[number];

/** The kinds of verification material present (non-null), in the order above. */
function presentMaterialKinds(material: Record<string, unknown>): MaterialKind[] {
  return MATERIAL_KINDS.filter((k) => material[k] !== undefined && material[k] !== null);
}

function checkMaterial(material: unknown): void {
  if (!isObject(material)) bad('the bundle has no verificationMaterial');
  const kinds = presentMaterialKinds(material);
  if (kinds.length === 0) bad('verificationMaterial holds no publicKey, x509CertificateChain or certificate');
  if (kinds.length > 1) bad(`verificationMaterial holds more than one kind of material (${kinds.join(', ')})`);
  const tlogEntries = material.tlogEntries;
  if (tlogEntries !== undefined && !Array.isArray(tlogEntries)) bad('verificationMaterial.tlogEntries is not an array');
  const kind = kinds[0];
  if (kind === 'publicKey') {
    const publicKey = material.publicKey;
    if (!isObject(publicKey)) bad('verificationMaterial.publicKey is not an object');
    if (publicKey.hint !== undefined && typeof publicKey.hint !== 'string') bad('verificationMaterial.publicKey.hint is not a string');
    if (publicKey.rawBytes !== undefined) checkBase64(publicKey.rawBytes, 'verificationMaterial.publicKey.rawBytes');
  } else if (kind === 'x509CertificateChain') {
    const chain = material.x509CertificateChain;
    if (!isObject(chain) || !Array.isArray(chain.certificates) || chain.certificates.length === 0) {
      bad('verificationMaterial.x509CertificateChain holds no certificates');
    }
    chain.certificates.forEach((cert: unknown, i) => {
      if (!isObject(cert)) bad(`x509CertificateChain.certificates[${i}] is not an object`);
      checkBase64(cert.rawBytes, `x509CertificateChain.certificates[${i}].rawBytes`);
    });
  } else {
    const cert = material.certificate;
    if (!isObject(cert)) bad('verificationMaterial.certificate is not an object');
    checkBase64(cert.rawBytes, 'verificationMaterial.certificate.rawBytes');
    // A Fulcio certificate is short-lived: without a log entry it can never be verified.
    if (!Array.isArray(tlogEntries) || tlogEntries.length === 0) bad('the Sigstore bundle has a certificate but no transparency log entries');
  }
}

function checkEnvelope(envelope: unknown): void {
  if (!isObject(envelope)) bad('dsseEnvelope is not an object');
  checkBase64(envelope.payload, 'dsseEnvelope.payload');
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    bad(`Expected DSSE payload ${IN_TOTO_PAYLOAD_TYPE}, but got ${JSON.stringify(envelope.payloadType) ?? 'nothing'}`);
  }
  const signatures = envelope.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) bad('the DSSE envelope has no signatures');
  signatures.forEach((signature: unknown, i) => {
    if (!isObject(signature)) bad(`dsseEnvelope.signatures[${i}] is not an object`);
    checkBase64(signature.sig, `dsseEnvelope.signatures[${i}].sig`);
    const keyid = signature.keyid;
    if (keyid !== undefined && keyid !== null && typeof keyid !== 'string') bad(`dsseEnvelope.signatures[${i}].keyid is not a string`);
  });
}

/**
 * Structural parse of a bundle given as JSON text, bytes or an already-parsed value. Throws
 * BAD_BUNDLE with one sentence on the first problem. Plain Sigstore bundles (`messageSignature`)
 * pass through for the Sigstore verifier to judge.
 */
export function parseBundle(input: string | Buffer | unknown): BundleJSON {
  const value = typeof input === 'string' ? parseJson(input) : Buffer.isBuffer(input) ? parseJson(input.toString('utf8')) : input;
  if (!isObject(value)) bad('the signature file is not a JSON object');
  if (typeof value.mediaType !== 'string' || value.mediaType === '') bad('the bundle has no mediaType');
  if (!SIGSTORE_MEDIA_TYPE_PREFIX.test(value.mediaType)) bad(`the bundle media type ${JSON.stringify(value.mediaType)} is not a Sigstore bundle media type`);
  if (value.verificationMaterial === undefined) bad('the bundle has no verificationMaterial');
  checkMaterial(value.verificationMaterial);
  if (value.dsseEnvelope !== undefined) checkEnvelope(value.dsseEnvelope);
  else if (!isObject(value.messageSignature)) bad('the bundle has no dsseEnvelope');
  return value as unknown as BundleJSON;
}

const MATERIAL_NAME: Record<MaterialKind, string> = {
  publicKey: 'a public key',
  x509CertificateChain: 'a certificate chain',
  certificate: 'a Sigstore certificate',
};
const METHOD_FOR_MATERIAL = { publicKey: 'key', x509CertificateChain: 'certificate', certificate: 'sigstore' } as const;
const MATERIAL_FOR_METHOD = { key: 'publicKey', certificate: 'x509CertificateChain', sigstore: 'certificate' } as const;

function materialKind(bundle: BundleJSON): MaterialKind | undefined {
  return presentMaterialKinds(bundle.verificationMaterial as Record<string, unknown>)[0];
}

/**
 * Sigstore bundles before v0.3 (sigstore-python 2.x) carry the Fulcio certificate as an
 * x509CertificateChain; they always have a log entry and never the v0.3 media type.
 */
function isPreV03SigstoreBundle(bundle: BundleJSON): boolean {
  const { mediaType, verificationMaterial: material } = bundle;
  return (
    material.x509CertificateChain !== undefined &&
    Array.isArray(material.tlogEntries) && material.tlogEntries.length > 0 &&
    mediaType !== BUNDLE_MEDIA_TYPE_V03 && mediaType !== BUNDLE_MEDIA_TYPE_V03_ALT
  );
}

/**
 * The bundle's material must be the kind the chosen method verifies (spec §2.3); a mismatch is
 * UNTRUSTED_SIGNER (the signer is not of the trusted kind). For key/certificate the media type
 * must be v0.3 (spec §2.2) and the envelope must be DSSE. Sigstore media types are left to the
 * Sigstore verifier.
 */
export function checkMaterialForMethod(bundle: BundleJSON, method: VerificationMethod): void {
  const material = bundle.verificationMaterial;
  // An old Sigstore bundle's chain is a Fulcio certificate, not a certificate-method chain.
  const present = isPreV03SigstoreBundle(bundle) ? 'certificate' : materialKind(bundle);
  const wanted = MATERIAL_FOR_METHOD[method];
  if (present !== wanted) {
    const has = present ? MATERIAL_NAME[present] : 'no usable material';
    const hint = present ? `; verify it with \`verify ${METHOD_FOR_MATERIAL[present]}\`` : '';
    throw fail('UNTRUSTED_SIGNER', `the signature was made with ${has}, not ${MATERIAL_NAME[wanted]}${hint}`);
  }
  if (method === 'sigstore') {
    if (!Array.isArray(material.tlogEntries) || material.tlogEntries.length === 0) {
      bad('the Sigstore bundle has no transparency log entries');
    }
    return;
  }
  if (bundle.mediaType !== BUNDLE_MEDIA_TYPE_V03 && bundle.mediaType !== BUNDLE_MEDIA_TYPE_V03_ALT) {
    bad(`Invalid sigstore bundle, got media type ${JSON.stringify(bundle.mediaType)} but expected ${BUNDLE_MEDIA_TYPE_V03}`);
  }
  if (!bundle.dsseEnvelope) bad('the bundle has no dsseEnvelope');
}

/** Compact JSON, as reference 1.1 writes it. */
export function serializeBundle(bundle: BundleJSON): string {
  return JSON.stringify(bundle);
}

/** The bundle shape the reference writes for key and certificate signatures (spec §2.3). */
export function dsseBundle(statement: Buffer, sig: Buffer, material: VerificationMaterialJSON): BundleJSON {
  return {
    mediaType: BUNDLE_MEDIA_TYPE_V03,
    verificationMaterial: { ...material, tlogEntries: material.tlogEntries ?? [] },
    dsseEnvelope: {
      payload: statement.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: sig.toString('base64'), keyid: '' }],
    },
  };
}
