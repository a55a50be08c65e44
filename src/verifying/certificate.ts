/**
 * `certificate` verification (spec §5.2, with the TS recommendations): the path is built from
 * the leaf through the bundle's untrusted intermediates (any order) to a self-signed trust anchor,
 * linking certificates by verified signatures (names alone mislead: the reference test leaf has
 * subject == issuer). The whole path must be valid now. Critical extensions we do not process
 * (name constraints included) fail closed. Not checked: policies, revocation.
 */
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { X509Certificate as ParsedCertificate } from '@sigstore/core';
import { checkMaterialForMethod, parseBundle } from '../bundle/bundle.js';
import { ecdsaHashForKey, verifyEnvelopeSignature } from '../bundle/dsse.js';
import type { BundleJSON } from '../bundle/types.js';
import { fail, isModelSealError } from '../errors.js';
import { parsePemCertificates } from '../signing/certificate.js';
import type { VerifiedSignature, Verifier } from './verifier.js';
import { LEGACY_PAE_WARNING } from './key.js';

export interface CertificateVerifierOptions {
  /** PEM texts of the trust anchors (each may hold several); default: Node's bundled Mozilla roots. */
  trustAnchors?: (string | Buffer)[];
  /** The validation time; default: now. */
  now?: Date;
}

const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';

/**
 * Critical extensions we may accept: the ones checked here, plus those that do not restrict a
 * path without an explicit policy (as OpenSSL's defaults). Any other critical one fails closed.
 */
const UNDERSTOOD_CRITICAL_EXTENSIONS: Record<string, string> = {
  '2.5.29.14': 'subjectKeyIdentifier',
  '2.5.29.15': 'keyUsage',
  '2.5.29.17': 'subjectAltName',
  '2.5.29.18': 'issuerAltName',
  '2.5.29.19': 'basicConstraints',
  '2.5.29.32': 'certificatePolicies',
  '2.5.29.33': 'policyMappings',
  '2.5.29.35': 'authorityKeyIdentifier',
  '2.5.29.36': 'policyConstraints',
  '2.5.29.37': 'extendedKeyUsage',
  '2.5.29.54': 'inhibitAnyPolicy',
};
const NAME_CONSTRAINTS = '2.5.29.30';
const MAX_PATH_LENGTH = 10;
/** Certificates a bundle may carry (leaf and intermediates). */
const MAX_BUNDLE_CERTIFICATES = 32;

interface Cert {
  node: X509Certificate;
  parsed: ParsedCertificate;
}

function toCert(node: X509Certificate): Cert {
  return { node, parsed: ParsedCertificate.parse(node.raw) };
}

function untrusted(message: string): never {
  throw fail('UNTRUSTED_SIGNER', message);
}

/**
 * `issuer` signed `cert`: issuer name matches and the signature verifies with its key. Not
 * X509Certificate.checkIssued: OpenSSL's version also rejects issuers without keyCertSign, which
 * would refuse a self-signed leaf anchor; keyCertSign is checked on real issuers in checkPath.
 */
function issuedBy(cert: Cert, issuer: Cert): boolean {
  try {
    const namesMatch = cert.parsed.issuer.equals(issuer.parsed.subject) || cert.node.issuer === issuer.node.subject;
    return namesMatch && cert.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

function isSelfSigned(cert: Cert): boolean {
  return issuedBy(cert, cert);
}

function subjectOf(cert: Cert): string {
  return cert.node.subject.split('\n').join(', ');
}

/**
 * Breadth-first search for leaf → ... → anchor. Any certificate may serve as an issuer, but the
 * path must end at a self-signed certificate byte-identical to an anchor (no partial chains).
 * Each certificate is visited once, so the work is bounded by (certificates)² signature checks:
 * a depth-first walk over every simple path is factorial in the size of a hostile chain whose
 * certificates all share one name and key (each "issues" every other).
 */
function buildPath(leaf: Cert, intermediates: Cert[], anchors: Cert[]): Cert[] | undefined {
  const isAnchor = (cert: Cert): boolean => anchors.some((a) => a.node.raw.equals(cert.node.raw)) && isSelfSigned(cert);
  const candidates: Cert[] = [];
  for (const c of [...intermediates, ...anchors]) {
    if (!c.node.raw.equals(leaf.node.raw) && !candidates.some((d) => d.node.raw.equals(c.node.raw))) candidates.push(c);
  }
  const visited = new Set<Cert>();
  let frontier: Cert[][] = [[leaf]];
  while (frontier.length > 0) {
    const next: Cert[][] = [];
    for (const path of frontier) {
      const last = path[path.length - 1]!;
      if (isAnchor(last)) return path;
      if (path.length > MAX_PATH_LENGTH) continue;
      for (const candidate of candidates) {
        if (visited.has(candidate) || !issuedBy(last, candidate)) continue;
        visited.add(candidate);
        next.push([...path, candidate]);
      }
    }
    frontier = next;
  }
  return undefined;
}

function checkCriticalExtensions(cert: Cert, role: string): void {
  for (const extension of cert.parsed.extensions) {
    const oid = extension.subs[0]?.toOID() ?? '';
    const critical = extension.subs.length === 3 && extension.subs[1]!.toBoolean();
    if (!critical || UNDERSTOOD_CRITICAL_EXTENSIONS[oid]) continue;
    if (oid === NAME_CONSTRAINTS) untrusted(`the ${role} has critical name constraints, which are not supported`);
    untrusted(`the ${role} has an unsupported critical extension ${oid}`);
  }
}

function checkPath(path: Cert[], now: Date): void {
  for (const [i, cert] of path.entries()) {
    const role = i === 0 ? 'signing certificate' : `issuer certificate ${subjectOf(cert)}`;
    checkCriticalExtensions(cert, role);
    if (now < cert.parsed.notBefore) untrusted(`the ${role} is not valid before ${cert.parsed.notBefore.toISOString()}`);
    if (now > cert.parsed.notAfter) untrusted(`the ${role} expired on ${cert.parsed.notAfter.toISOString()}`);
    if (i === 0) continue;
    const constraints = cert.parsed.extBasicConstraints;
    if (!constraints?.isCA) untrusted(`the ${role} is not a CA (basicConstraints CA:TRUE missing)`);
    const keyUsage = cert.parsed.extKeyUsage;
    if (keyUsage && !keyUsage.keyCertSign) untrusted(`the ${role} may not sign certificates (keyUsage lacks keyCertSign)`);
    // Certificates between the leaf and this issuer, not counting self-issued ones (RFC 5280 §6.1.4).
    const below = path.slice(1, i).filter((c) => c.node.subject !== c.node.issuer).length;
    const pathLen = constraints.pathLenConstraint;
    if (pathLen !== undefined && BigInt(below) > pathLen) untrusted(`the ${role} allows at most ${pathLen} intermediate certificates below it`);
  }
}

function checkLeafUsage(leaf: Cert): void {
  const digitalSignature = leaf.parsed.extKeyUsage?.digitalSignature ?? false;
  const codeSigning = leaf.node.keyUsage?.includes(CODE_SIGNING_EKU) ?? false;
  if (!digitalSignature && !codeSigning) {
    untrusted('Signing certificate cannot be used for signing (it has neither keyUsage digitalSignature nor extendedKeyUsage codeSigning)');
  }
}

export function certificateVerifier(options: CertificateVerifierOptions = {}): Verifier {
  const anchorTexts = options.trustAnchors ?? rootCertificates;
  const anchors = anchorTexts.flatMap((pem, i) =>
    parsePemCertificates(pem, `trust anchor file ${i + 1}`).map((cert, j) => {
      try {
        return toCert(cert);
      } catch (e) {
        throw fail('BAD_INPUT', `certificate ${j + 1} of trust anchor file ${i + 1} could not be parsed`, { cause: e });
      }
    }),
  );
  return {
    method: 'certificate',
    async verify(input: BundleJSON): Promise<VerifiedSignature> {
      const bundle = parseBundle(input);
      checkMaterialForMethod(bundle, 'certificate');
      const envelope = bundle.dsseEnvelope!;
      const certificates = bundle.verificationMaterial.x509CertificateChain!.certificates;
      // Path building costs up to (certificates)² signature checks; real chains hold a handful.
      if (certificates.length > MAX_BUNDLE_CERTIFICATES) {
        throw fail('BAD_BUNDLE', `the bundle's chain holds ${certificates.length} certificates (at most ${MAX_BUNDLE_CERTIFICATES} are accepted)`);
      }
      const chain = certificates.map((c, i) => {
        try {
          return toCert(new X509Certificate(Buffer.from(c.rawBytes, 'base64')));
        } catch (e) {
          throw fail('BAD_BUNDLE', `certificate ${i + 1} of the bundle's chain is not a valid X.509 certificate`, { cause: e });
        }
      });
      const [leaf, ...intermediates] = chain as [Cert, ...Cert[]];
      const path = buildPath(leaf, intermediates, anchors);
      if (!path) untrusted(`the signing certificate (${subjectOf(leaf)}) does not chain to a trusted root certificate`);
      checkPath(path, options.now ?? new Date());
      checkLeafUsage(leaf);
      let hash: 'sha256' | 'sha384' | 'sha512';
      try {
        hash = ecdsaHashForKey(leaf.node.publicKey);
      } catch (e) {
        if (isModelSealError(e)) untrusted(`the signing certificate's key is not usable: ${e.message}`);
        throw e;
      }
      // Reference v0.2 signed the malformed PAE with SHA-256 whatever the curve (spec §3.2).
      const checked = verifyEnvelopeSignature(envelope, leaf.node.publicKey, hash, hash === 'sha256' ? ['sha256'] : ['sha256', hash]);
      if (!checked) {
        throw fail('SIGNATURE_INVALID', "the signature does not verify with the signing certificate's key (the signature file was altered)");
      }
      const warnings = checked.legacy ? [LEGACY_PAE_WARNING] : [];
      return {
        payload: checked.payload,
        payloadType: envelope.payloadType,
        signer: {
          method: 'certificate',
          certificateSubject: subjectOf(leaf),
          certificateFingerprints: path.map((c) => c.node.fingerprint256),
          warnings,
        },
      };
    },
  };
}
