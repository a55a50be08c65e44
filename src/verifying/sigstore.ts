/**
 * Sigstore (keyless) verification: Fulcio certificate chain + SCT, Rekor inclusion (v1 or v2
 * entries), RFC 3161 / SET time sources and the DSSE signature via @sigstore/verify, then the
 * identity policy done here, exactly as the reference does it (sigstore-python `Identity`):
 * identity == one of the certificate's email / URI / otherName(1.3.6.1.4.1.57264.1.7) SANs,
 * issuer == extension 1.3.6.1.4.1.57264.1.1 (falling back to 1.8 when only that one is present).
 */
import { X509Certificate } from '@sigstore/core';
import { bundleFromJSON } from '@sigstore/bundle';
import type { Bundle } from '@sigstore/bundle';
import { Verifier as SigstoreJsVerifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import type { SignedEntity } from '@sigstore/verify';
import { createHash, createVerify, X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { pae } from '../bundle/dsse.js';
import type { BundleJSON } from '../bundle/types.js';
import { fail, fsErrorText, ModelSealError } from '../errors.js';
import { resolveTrustedRoot, type TrustOptions } from '../trust/index.js';
import type { SignerInfo, Verifier, VerifiedSignature } from './verifier.js';

type SignatureContent = SignedEntity['signature'];

/**
 * Options of keyless verification (mirrors the reference's `verify sigstore` flags).
 * The trust options (TrustOptions: `useStaging`, `trustConfig`, TUF refresh and cache) apply as for
 * signing, except that for verification `trustConfig` wins over `useStaging` (as the reference).
 */
export interface SigstoreVerifyOptions extends TrustOptions {
  /** Expected signer identity (SAN: email, URI, ...), matched exactly. */
  identity?: string;
  /**
   * Alternative to `identity`: a regular expression the whole SAN must match (it is anchored:
   * `^(?:R)$`). Write it carefully: `.` matches any character.
   */
  identityRegex?: string;
  /** Expected OIDC issuer, matched exactly. */
  identityProvider: string;
}

export const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
export const OID_SIGSTORE_OTHERNAME_SAN = '1.3.6.1.4.1.57264.1.7';

/** Every identity the certificate names: rfc822Name, URI, and Sigstore's otherName SANs. */
export function certificateIdentities(cert: X509Certificate): string[] {
  const ext = cert.extSubjectAltName;
  if (!ext) return [];
  const out: string[] = [];
  const names = ext.valueObj.subs[0]?.subs ?? [];
  for (const gn of names) {
    try {
      if (gn.tag.isContextSpecific(1) || gn.tag.isContextSpecific(6)) out.push(gn.value.toString('utf8'));
      else if (gn.tag.isContextSpecific(0) && gn.subs[0]?.toOID() === OID_SIGSTORE_OTHERNAME_SAN) {
        const v = gn.subs[1]?.subs[0]?.value;
        if (v) out.push(v.toString('utf8'));
      }
    } catch {
      /* an unparsable GeneralName names nobody */
    }
  }
  return out;
}

/** The OIDC issuer recorded by Fulcio: v1 extension (raw bytes) as the reference, else v2 (UTF8String). */
export function certificateIssuer(cert: X509Certificate): string | undefined {
  const v1 = cert.extension(OID_FULCIO_ISSUER_V1);
  if (v1) return v1.value.toString('utf8');
  const v2 = cert.extension(OID_FULCIO_ISSUER_V2);
  return v2?.valueObj.subs[0]?.value.toString('utf8');
}

function checkOptions(o: SigstoreVerifyOptions): void {
  if (!o || typeof o.identityProvider !== 'string' || o.identityProvider === '') {
    throw fail('USAGE', 'sigstore verification needs the expected identity provider (--identity-provider)');
  }
  const hasId = typeof o.identity === 'string' && o.identity !== '';
  const hasRe = typeof o.identityRegex === 'string' && o.identityRegex !== '';
  if (hasId === hasRe) throw fail('USAGE', 'sigstore verification needs exactly one of --identity or --identity-regex');
  if (hasRe) {
    try {
      new RegExp(o.identityRegex!, 'u');
    } catch (e) {
      throw fail('USAGE', `--identity-regex is not a valid regular expression: ${(e as Error).message}`);
    }
  }
}

/** Apply the identity policy to a verified certificate. Throws UNTRUSTED_SIGNER. */
function checkIdentity(cert: X509Certificate, o: SigstoreVerifyOptions): { identity: string; issuer: string } {
  const issuer = certificateIssuer(cert);
  const ids = certificateIdentities(cert);
  let matched: string | undefined;
  if (o.identity) matched = ids.find((id) => id === o.identity);
  else {
    const re = new RegExp(`^(?:${o.identityRegex!})$`, 'u');
    matched = ids.find((id) => re.test(id));
  }
  if (matched === undefined) {
    const want = o.identity ? JSON.stringify(o.identity) : `matching /^(?:${o.identityRegex})$/`;
    throw fail('UNTRUSTED_SIGNER', `the signing certificate was issued to ${ids.map((i) => JSON.stringify(i)).join(', ') || 'no identity'}, not ${want}`);
  }
  if (issuer !== o.identityProvider) {
    throw fail('UNTRUSTED_SIGNER', `the signer's identity was issued by ${issuer === undefined ? 'an unknown provider' : JSON.stringify(issuer)}, not ${JSON.stringify(o.identityProvider)}`);
  }
  return { identity: matched, issuer };
}

function parseSigstoreBundle(json: BundleJSON): Bundle {
  try {
    return bundleFromJSON(json);
  } catch (e) {
    throw fail('BAD_BUNDLE', `the Sigstore bundle is malformed: ${(e as Error).message}`, { cause: e });
  }
}

/** Map @sigstore/verify errors onto ours (identity checks happen here, not there). */
function mapVerifyError(e: unknown): ModelSealError {
  if (e instanceof ModelSealError) return e;
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error).message ?? String(e);
  if (code === 'CERTIFICATE_ERROR' || code === 'PUBLIC_KEY_ERROR' || code === 'UNTRUSTED_SIGNER_ERROR') {
    return fail('UNTRUSTED_SIGNER', `the signing certificate is not trusted: ${msg}`, { cause: e });
  }
  if (code) return fail('SIGNATURE_INVALID', `Sigstore verification failed (${code}): ${msg}`, { cause: e });
  return fail('SIGNATURE_INVALID', `Sigstore verification failed: ${msg}`, { cause: e });
}

function timeInfo(entity: SignedEntity): { signedAt?: string; sources: string[] } {
  const times: Date[] = [];
  const sources = new Set<string>();
  for (const t of entity.timestamps) {
    if (t.$case === 'timestamp-authority') {
      times.push(t.timestamp.signingTime);
      sources.add('timestamp-authority');
    } else if (t.tlogEntry.inclusionPromise) {
      times.push(new Date(Number(t.tlogEntry.integratedTime) * 1000));
      sources.add('transparency-log');
    }
  }
  times.sort((a, b) => a.getTime() - b.getTime());
  return { ...(times[0] ? { signedAt: times[0].toISOString() } : {}), sources: [...sources].sort() };
}

/** Crypto + policy over a SignedEntity; returns the SignerInfo. */
async function verifyEntity(entity: SignedEntity, bundle: Bundle, o: SigstoreVerifyOptions): Promise<SignerInfo> {
  if (entity.key.$case !== 'certificate') {
    throw fail('UNTRUSTED_SIGNER', 'the bundle carries a public key, not a Fulcio certificate; verify it with `verify key`');
  }
  const trust = await resolveTrustedRoot(o);
  let material;
  try {
    material = toTrustMaterial(trust.root);
  } catch (e) {
    throw fail('BAD_INPUT', `the trusted root (${trust.description}) is unusable: ${(e as Error).message}`);
  }
  try {
    new SigstoreJsVerifier(material).verify(entity);
  } catch (e) {
    throw mapVerifyError(e);
  }
  const cert = entity.key.certificate;
  const { identity, issuer } = checkIdentity(cert, o);
  const { signedAt, sources } = timeInfo(entity);
  const first = bundle.verificationMaterial.tlogEntries[0];
  const info: SignerInfo = {
    method: 'sigstore',
    identity,
    issuer,
    timestampSources: sources,
    trustRoot: trust.description,
    warnings: [],
  };
  if (first) info.logIndex = first.logIndex;
  if (signedAt) info.signedAt = signedAt;
  try {
    const subject = new NodeX509Certificate(leafCertDER(bundle) ?? Buffer.alloc(0)).subject;
    if (subject) info.certificateSubject = subject.replace(/\n/g, ', ');
  } catch {
    /* Fulcio leaves often have an empty subject */
  }
  return info;
}

/** The signing certificate's DER, as the bundle carries it (v0.3 single cert, or chain[0]). */
function leafCertDER(bundle: Bundle): Buffer | undefined {
  const c = bundle.verificationMaterial.content;
  if (c.$case === 'certificate') return c.certificate.rawBytes;
  if (c.$case === 'x509CertificateChain') return c.x509CertificateChain.certificates[0]?.rawBytes;
  return undefined;
}

/** Verify an OMS Sigstore bundle (DSSE) and return the statement bytes and who signed them. */
export async function verifySigstoreBundle(json: BundleJSON, options: SigstoreVerifyOptions): Promise<VerifiedSignature> {
  checkOptions(options);
  if (!json.dsseEnvelope) throw fail('BAD_BUNDLE', 'the bundle has no dsseEnvelope (a plain Sigstore bundle over a file is verified with verifySigstoreFileBundle)');
  if (!json.verificationMaterial?.certificate && !json.verificationMaterial?.x509CertificateChain) {
    throw fail('UNTRUSTED_SIGNER', 'the bundle carries no Sigstore certificate; it was not signed keylessly');
  }
  const bundle = parseSigstoreBundle(json);
  if (bundle.content.$case !== 'dsseEnvelope') throw fail('BAD_BUNDLE', 'the bundle has no dsseEnvelope');
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (e) {
    throw fail('BAD_BUNDLE', `the Sigstore bundle is malformed: ${(e as Error).message}`, { cause: e });
  }
  const env = bundle.content.dsseEnvelope;
  const signer = await verifyEntity(withPaeDigestForHashedRekordV2(entity, bundle, env), bundle, options);
  return { payload: Buffer.from(env.payload), payloadType: env.payloadType, signer };
}

/**
 * Rekor v2 logs a DSSE signature from sigstore-python as a `hashedrekord` 0.0.2 entry over
 * SHA-256(PAE) (spec §5.3). @sigstore/verify 3.x compares that digest with SHA-256(payload), so
 * for such entries compare it with the PAE digest instead (the signature check is unchanged).
 */
function withPaeDigestForHashedRekordV2(entity: SignedEntity, bundle: Bundle, env: { payloadType: string; payload: Buffer }): SignedEntity {
  const v2Hashed = bundle.verificationMaterial.tlogEntries.some((e) => e.kindVersion?.kind === 'hashedrekord' && e.kindVersion.version === '0.0.2');
  if (!v2Hashed) return entity;
  const paeDigest = createHash('sha256').update(pae(env.payloadType, Buffer.from(env.payload))).digest();
  const orig = entity.signature;
  const signature: SignatureContent = {
    signature: orig.signature,
    compareSignature: (sig: Buffer) => orig.compareSignature(sig),
    compareDigest: (digest: Buffer) => digest.equals(paeDigest),
    verifySignature: (key: KeyObject) => orig.verifySignature(key),
  };
  return { ...entity, signature };
}

/**
 * A message signature whose check over the file was done beforehand: @sigstore/verify checks
 * signatures synchronously over bytes in memory, but a model file may be many GB, so the file is
 * streamed through node:crypto's verifier first and the result is reported for the leaf key only.
 */
class CheckedFileSignatureContent implements SignatureContent {
  constructor(
    readonly signature: Buffer,
    private readonly digest: Buffer,
    private readonly leafKey: KeyObject,
    private readonly validOverFile: boolean,
  ) {}
  compareSignature(signature: Buffer): boolean {
    return signature.equals(this.signature);
  }
  compareDigest(digest: Buffer): boolean {
    return digest.equals(this.digest);
  }
  verifySignature(key: KeyObject): boolean {
    return this.validOverFile && key.equals(this.leafKey);
  }
}

/** The signing certificate's public key. */
function leafPublicKey(bundle: Bundle): KeyObject {
  const der = leafCertDER(bundle);
  if (!der) throw fail('BAD_BUNDLE', 'the plain Sigstore bundle carries no signing certificate');
  try {
    return new NodeX509Certificate(der).publicKey;
  } catch (e) {
    throw fail('BAD_BUNDLE', `the bundle's signing certificate cannot be parsed: ${(e as Error).message}`, { cause: e });
  }
}

/** ECDSA(SHA-256) over the file's bytes, streamed: memory stays flat whatever the file's size. */
async function signatureValidOverFile(path: string, key: KeyObject, signature: Buffer): Promise<boolean> {
  const v = createVerify('sha256');
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), v);
  } catch (e) {
    throw fail('BAD_INPUT', `cannot read '${path}': ${fsErrorText(e)}`);
  }
  try {
    return v.verify(key, signature);
  } catch {
    return false; // malformed DER signature
  }
}

/**
 * Verify a plain Sigstore bundle made by the Sigstore CLIs over one file (`sigstore sign
 * model.joblib`: a message signature + hashedrekord entry) against that file's SHA-256.
 * Checks the certificate, log entry, time sources, signature, identity and issuer, and that the
 * bundle's digest is the file's. Throws CONTENT_MISMATCH when the digest differs.
 */
export async function verifySigstoreFileBundle(
  json: BundleJSON,
  file: { path: string; sha256: Buffer },
  options: SigstoreVerifyOptions,
): Promise<SignerInfo> {
  const fileSha256 = file.sha256;
  checkOptions(options);
  if (!json.messageSignature) throw fail('BAD_BUNDLE', 'the bundle has no messageSignature');
  const bundle = parseSigstoreBundle(json);
  if (bundle.content.$case !== 'messageSignature') throw fail('BAD_BUNDLE', 'the bundle has no messageSignature');
  const ms = bundle.content.messageSignature;
  const md = ms.messageDigest;
  if (!md || (md.algorithm !== 1 /* SHA2_256 */ && md.algorithm !== 0)) {
    throw fail('UNSUPPORTED', 'only SHA-256 message digests are supported in plain Sigstore bundles');
  }
  if (fileSha256.length !== 32) throw fail('BAD_INPUT', 'the file digest must be 32 bytes of SHA-256');
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, Buffer.alloc(0));
  } catch (e) {
    throw fail('BAD_BUNDLE', `the Sigstore bundle is malformed: ${(e as Error).message}`, { cause: e });
  }
  // The signature is checked over the file itself (streamed), and the log entry must agree with
  // the bundle's digest. When the file's digest already differs from the signed one, the
  // signature cannot hold over it; everything else (certificate, log, identity) is still checked
  // so the error says which is wrong: the signer, or the file. Nothing is accepted on that path.
  const leafKey = leafPublicKey(bundle);
  const digestMatches = md.digest.equals(fileSha256);
  const validOverFile = digestMatches ? await signatureValidOverFile(file.path, leafKey, ms.signature) : true;
  entity = { ...entity, signature: new CheckedFileSignatureContent(ms.signature, md.digest, leafKey, validOverFile) };
  const info = await verifyEntity(entity, bundle, options);
  if (!digestMatches) {
    throw fail('CONTENT_MISMATCH', `the file's SHA-256 ${fileSha256.toString('hex')} differs from the signed digest ${md.digest.toString('hex')}`);
  }
  return info;
}

export function sigstoreVerifier(options: SigstoreVerifyOptions): Verifier {
  checkOptions(options);
  return {
    method: 'sigstore',
    verify: (bundle: BundleJSON) => verifySigstoreBundle(bundle, options),
    verifyFileBundle: (bundle: BundleJSON, file: { path: string; sha256: Buffer }) => verifySigstoreFileBundle(bundle, file, options),
  };
}
