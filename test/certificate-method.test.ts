import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseBundle } from '../src/bundle/bundle.js';
import type { BundleJSON } from '../src/bundle/types.js';
import { isModelSealError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { decodeStatement, encodeStatement } from '../src/manifest/statement.js';
import { certificateSigner } from '../src/signing/certificate.js';
import { keySigner } from '../src/signing/key.js';
import { certificateVerifier } from '../src/verifying/certificate.js';
import { CA_EXTENSIONS, LEAF_EXTENSIONS, ecKeyPem, makeChain, mint, rsaKeyPem } from './helpers/pki.js';
import { MT_KEYS, MT_VECTORS } from './helpers/paths.js';
import { validateBundle } from './helpers/schemas.js';

const key = (name: string): string => readFileSync(join(MT_KEYS, name), 'utf8');
const CA = key('ca-cert.pem');
const INT = key('int-ca-cert.pem');

async function rejectsCode(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => isModelSealError(e) && e.code === code && pattern.test(e.message));
}
function throwsCode(fn: () => unknown, code: ErrorCode, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isModelSealError(e) && e.code === code && pattern.test(e.message));
}

const statement = encodeStatement({
  modelName: 'm',
  serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false },
  items: [{ name: 'a.bin', algorithm: 'sha256', digest: 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc' }],
  rootDigest: createHash('sha256').update(Buffer.from('bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc', 'hex')).digest('hex'),
});

/** Independent fingerprint: SHA-256 of the DER, colon-separated upper-case hex. */
const fingerprint = (pem: string): string =>
  createHash('sha256').update(new X509Certificate(pem).raw).digest('hex').toUpperCase().match(/../g)!.join(':');

describe('certificate verification of the reference vector', () => {
  const vector = (): BundleJSON => parseBundle(readFileSync(join(MT_VECTORS, 'v1.0.0-certificate', 'model.sig')));
  it('v1.0.0-certificate verifies against ca-cert.pem', async () => {
    const result = await certificateVerifier({ trustAnchors: [CA] }).verify(vector());
    assert.equal(result.signer.method, 'certificate');
    assert.equal(result.signer.certificateSubject, 'CN=intermediate-ca');
    assert.deepEqual(result.signer.certificateFingerprints, [fingerprint(key('signing-key-cert.pem')), fingerprint(INT), fingerprint(CA)]);
    assert.deepEqual(result.signer.warnings, []);
    assert.deepEqual(decodeStatement(result.payload).items.map((i) => i.name), ['signme-1', 'signme-2']);
  });
  it('several anchors in one text, in any order', async () => {
    await certificateVerifier({ trustAnchors: [`${INT}\n${CA}`] }).verify(vector());
    await certificateVerifier({ trustAnchors: [makeChain().root.cert, CA] }).verify(vector());
  });
  it('intermediate-only anchor → UNTRUSTED_SIGNER (no partial chains)', async () => {
    await rejectsCode(certificateVerifier({ trustAnchors: [INT] }).verify(vector()), 'UNTRUSTED_SIGNER', /does not chain to a trusted root/);
  });
  it('wrong CA (even with the same name) → UNTRUSTED_SIGNER', async () => {
    const impostor = mint({ subject: '/CN=root-ca', key: rsaKeyPem(), extensions: CA_EXTENSIONS });
    await rejectsCode(certificateVerifier({ trustAnchors: [impostor.cert] }).verify(vector()), 'UNTRUSTED_SIGNER', /does not chain/);
  });
  it('the default anchors (Mozilla roots) do not trust the test PKI', async () => {
    await rejectsCode(certificateVerifier().verify(vector()), 'UNTRUSTED_SIGNER', /does not chain/);
  });
  it('after the chain expired (2035) → UNTRUSTED_SIGNER', async () => {
    await rejectsCode(certificateVerifier({ trustAnchors: [CA], now: new Date('2036-01-01T00:00:00Z') }).verify(vector()), 'UNTRUSTED_SIGNER', /expired/);
    await rejectsCode(certificateVerifier({ trustAnchors: [CA], now: new Date('2024-01-01T00:00:00Z') }).verify(vector()), 'UNTRUSTED_SIGNER', /not valid before/);
  });
  it('tampered payload and signature → SIGNATURE_INVALID', async () => {
    const b = vector();
    b.dsseEnvelope!.payload = Buffer.from(Buffer.from(b.dsseEnvelope!.payload, 'base64').toString().replace('signme-2', 'signme-3')).toString('base64');
    await rejectsCode(certificateVerifier({ trustAnchors: [CA] }).verify(b), 'SIGNATURE_INVALID', /does not verify/);
    const c = vector();
    const sig = Buffer.from(c.dsseEnvelope!.signatures[0]!.sig, 'base64');
    sig[10]! ^= 0x40;
    c.dsseEnvelope!.signatures[0]!.sig = sig.toString('base64');
    await rejectsCode(certificateVerifier({ trustAnchors: [CA] }).verify(c), 'SIGNATURE_INVALID', /./);
  });
  it('a key bundle or a sigstore bundle is refused (material/method mismatch)', async () => {
    const keyBundle = parseBundle(readFileSync(join(MT_VECTORS, 'v1.0.0-elliptic-key', 'model.sig')));
    await rejectsCode(certificateVerifier({ trustAnchors: [CA] }).verify(keyBundle), 'UNTRUSTED_SIGNER', /public key, not a certificate chain/);
    const sigstore = parseBundle(readFileSync(join(MT_VECTORS, 'v1.0.0-sigstore', 'model.sig')));
    await rejectsCode(certificateVerifier({ trustAnchors: [CA] }).verify(sigstore), 'UNTRUSTED_SIGNER', /`verify sigstore`/);
  });
  it('wrong media type and garbage certificate → BAD_BUNDLE', async () => {
    const b = vector();
    b.mediaType = 'application/json';
    await rejectsCode(certificateVerifier({ trustAnchors: [CA] }).verify(b), 'BAD_BUNDLE', /./);
    const c = vector();
    c.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes = 'AAAA';
    await rejectsCode(certificateVerifier({ trustAnchors: [CA] }).verify(c), 'BAD_BUNDLE', /not a valid X\.509 certificate/);
  });
});

describe('certificate signing', () => {
  it('signs with the reference PKI: chain = leaf then chain certs in order; verifies', async () => {
    const signer = certificateSigner({ privateKey: key('signing-key.pem'), signingCertificate: key('signing-key-cert.pem'), certificateChain: [`${INT}${CA}`] });
    assert.equal(signer.method, 'certificate');
    const bundle = await signer.sign(statement);
    const ders = bundle.verificationMaterial.x509CertificateChain!.certificates.map((c) => c.rawBytes);
    assert.deepEqual(ders, [key('signing-key-cert.pem'), INT, CA].map((p) => new X509Certificate(p).raw.toString('base64')));
    assert.deepEqual(bundle.verificationMaterial.tlogEntries, []);
    validateBundle(bundle);
    assert.equal(bundle.dsseEnvelope!.signatures[0]!.keyid, '');
    const result = await certificateVerifier({ trustAnchors: [CA] }).verify(JSON.parse(JSON.stringify(bundle)));
    assert.ok(result.payload.equals(statement));
  });
  for (const curve of ['prime256v1', 'secp384r1', 'secp521r1'] as const) {
    it(`round trip with an openssl-minted ${curve} leaf, intermediates reversed`, async () => {
      const { root, intermediate, leaf } = makeChain({ key: ecKeyPem(curve) });
      const bundle = await certificateSigner({ privateKey: leaf.key, signingCertificate: leaf.cert, certificateChain: [intermediate.cert] }).sign(statement);
      validateBundle(bundle);
      const result = await certificateVerifier({ trustAnchors: [root.cert] }).verify(bundle);
      assert.equal(result.signer.certificateSubject, 'CN=ml-team');
      assert.equal(result.signer.certificateFingerprints!.length, 3);
    });
  }
  it('refuses a certificate that does not match the private key', () => {
    throwsCode(() => certificateSigner({ privateKey: ecKeyPem('secp384r1'), signingCertificate: key('signing-key-cert.pem') }), 'BAD_INPUT', /does not match the private key/);
  });
  it('refuses RSA private keys, and files without certificates', () => {
    throwsCode(() => certificateSigner({ privateKey: rsaKeyPem(), signingCertificate: key('signing-key-cert.pem') }), 'BAD_INPUT', /only EC/);
    throwsCode(() => certificateSigner({ privateKey: key('signing-key.pem'), signingCertificate: 'nothing here' }), 'BAD_INPUT', /no PEM certificate/);
  });
});

describe('certificate path rules (openssl-minted PKI)', () => {
  const signAndVerify = async (leaf: { key: string; cert: string }, chain: string[], anchors: string[], now?: Date) => {
    const bundle = await certificateSigner({ privateKey: leaf.key, signingCertificate: leaf.cert, certificateChain: chain }).sign(statement);
    return certificateVerifier({ trustAnchors: anchors, ...(now ? { now } : {}) }).verify(bundle);
  };
  it('expired leaf (chain still valid) → UNTRUSTED_SIGNER', async () => {
    const { root, intermediate, leaf } = makeChain({ days: 1 });
    await signAndVerify(leaf, [intermediate.cert], [root.cert]);
    const later = new Date(Date.now() + 3 * 24 * 3600 * 1000);
    await rejectsCode(signAndVerify(leaf, [intermediate.cert], [root.cert], later), 'UNTRUSTED_SIGNER', /signing certificate expired/);
  });
  it('leaf without digitalSignature or codeSigning → UNTRUSTED_SIGNER; either one suffices', async () => {
    const none = makeChain({ extensions: ['basicConstraints=CA:FALSE', 'keyUsage=critical,keyAgreement', 'extendedKeyUsage=serverAuth'] });
    await rejectsCode(signAndVerify(none.leaf, [none.intermediate.cert], [none.root.cert]), 'UNTRUSTED_SIGNER', /Signing certificate cannot be used for signing/);
    const bare = makeChain({ extensions: ['basicConstraints=CA:FALSE'] });
    await rejectsCode(signAndVerify(bare.leaf, [bare.intermediate.cert], [bare.root.cert]), 'UNTRUSTED_SIGNER', /cannot be used for signing/);
    const ku = makeChain({ extensions: ['keyUsage=critical,digitalSignature'] });
    await signAndVerify(ku.leaf, [ku.intermediate.cert], [ku.root.cert]);
    const eku = makeChain({ extensions: ['extendedKeyUsage=codeSigning'] });
    await signAndVerify(eku.leaf, [eku.intermediate.cert], [eku.root.cert]);
  });
  it('issuer without CA:TRUE → UNTRUSTED_SIGNER', async () => {
    const root = mint({ subject: '/CN=r', extensions: CA_EXTENSIONS });
    const notCa = mint({ subject: '/CN=not-ca', issuer: root, extensions: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign'] });
    const leaf = mint({ subject: '/CN=leaf', issuer: notCa, extensions: LEAF_EXTENSIONS });
    await rejectsCode(signAndVerify(leaf, [notCa.cert], [root.cert]), 'UNTRUSTED_SIGNER', /is not a CA/);
  });
  it('issuer whose keyUsage lacks keyCertSign → UNTRUSTED_SIGNER', async () => {
    const root = mint({ subject: '/CN=r', extensions: CA_EXTENSIONS });
    const noSign = mint({ subject: '/CN=no-certsign', issuer: root, extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature'] });
    const leaf = mint({ subject: '/CN=leaf', issuer: noSign, extensions: LEAF_EXTENSIONS });
    await rejectsCode(signAndVerify(leaf, [noSign.cert], [root.cert]), 'UNTRUSTED_SIGNER', /keyCertSign/);
  });
  it('pathLen exceeded → UNTRUSTED_SIGNER', async () => {
    const root = mint({ subject: '/CN=r', extensions: ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign'] });
    const intermediate = mint({ subject: '/CN=i', issuer: root, extensions: CA_EXTENSIONS });
    const leaf = mint({ subject: '/CN=leaf', issuer: intermediate, extensions: LEAF_EXTENSIONS });
    await rejectsCode(signAndVerify(leaf, [intermediate.cert], [root.cert]), 'UNTRUSTED_SIGNER', /at most 0 intermediate/);
  });
  it('a self-signed leaf that is itself an anchor verifies; not when only its name matches', async () => {
    const self = mint({ subject: '/CN=self', extensions: ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature'] });
    await signAndVerify(self, [], [self.cert]);
    const twin = mint({ subject: '/CN=self', extensions: ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature'] });
    await rejectsCode(signAndVerify(self, [], [twin.cert]), 'UNTRUSTED_SIGNER', /does not chain/);
  });
  it('unsupported critical extensions fail closed (name constraints, unknown OIDs)', async () => {
    const root = mint({ subject: '/CN=r', extensions: [...CA_EXTENSIONS, 'nameConstraints=critical,permitted;DNS:example.com'] });
    const intermediate = mint({ subject: '/CN=i', issuer: root, extensions: CA_EXTENSIONS });
    const leaf = mint({ subject: '/CN=leaf', issuer: intermediate, extensions: LEAF_EXTENSIONS });
    await rejectsCode(signAndVerify(leaf, [intermediate.cert], [root.cert]), 'UNTRUSTED_SIGNER', /critical name constraints/);
    const chain = makeChain({ extensions: [...LEAF_EXTENSIONS, '1.2.3.4=critical,ASN1:UTF8String:x'] });
    await rejectsCode(signAndVerify(chain.leaf, [chain.intermediate.cert], [chain.root.cert]), 'UNTRUSTED_SIGNER', /unsupported critical extension 1\.2\.3\.4/);
    const nonCritical = makeChain({ extensions: [...LEAF_EXTENSIONS, '1.2.3.4=ASN1:UTF8String:x', 'subjectAltName=critical,email:a@b.c'] });
    await signAndVerify(nonCritical.leaf, [nonCritical.intermediate.cert], [nonCritical.root.cert]);
  });
  it('a hostile chain whose certificates all issue each other is refused promptly (no path explosion)', async () => {
    // Twelve distinct certificates with one name and one key: each verifies as the issuer of every
    // other, so trying every simple path is factorial (hours). Run in a child so a hang can be killed.
    const k = ecKeyPem();
    const first = mint({ subject: '/CN=loop', key: k, extensions: CA_EXTENSIONS });
    const certs = [first];
    for (let i = 0; i < 11; i++) certs.push(mint({ subject: '/CN=loop', issuer: first, key: k, extensions: CA_EXTENSIONS }));
    const anchor = mint({ subject: '/CN=unrelated-root', extensions: CA_EXTENSIONS });
    const signed = await keySigner({ privateKey: k }).sign(statement);
    const bundle: BundleJSON = {
      ...signed,
      verificationMaterial: { x509CertificateChain: { certificates: certs.map((c) => ({ rawBytes: new X509Certificate(c.cert).raw.toString('base64') })) }, tlogEntries: [] },
    };
    const moduleUrl = new URL('../src/verifying/certificate.js', import.meta.url).href;
    const script = `import { certificateVerifier } from ${JSON.stringify(moduleUrl)};
      const { bundle, anchor } = JSON.parse(process.env.CHAIN_INPUT);
      certificateVerifier({ trustAnchors: [anchor] }).verify(bundle).then(() => console.log('VERIFIED'), (e) => console.log(e.code + ' ' + e.message));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, CHAIN_INPUT: JSON.stringify({ bundle, anchor: anchor.cert }) },
      timeout: 30_000,
      encoding: 'utf8',
    });
    assert.equal(r.signal, null, 'path building did not finish within 30 s');
    assert.match(r.stdout, /^UNTRUSTED_SIGNER .*does not chain/);
  });
  it('a bundle carrying more than 32 certificates is refused before any path building', async () => {
    const { root, intermediate, leaf } = makeChain();
    const bundle = await certificateSigner({ privateKey: leaf.key, signingCertificate: leaf.cert, certificateChain: [intermediate.cert] }).sign(statement);
    const der = (pem: string) => ({ rawBytes: new X509Certificate(pem).raw.toString('base64') });
    bundle.verificationMaterial.x509CertificateChain!.certificates = [der(leaf.cert), ...Array.from({ length: 32 }, () => der(intermediate.cert))];
    await rejectsCode(certificateVerifier({ trustAnchors: [root.cert] }).verify(bundle), 'BAD_BUNDLE', /33 certificates/);
    bundle.verificationMaterial.x509CertificateChain!.certificates = [der(leaf.cert), ...Array.from({ length: 31 }, () => der(intermediate.cert))];
    await certificateVerifier({ trustAnchors: [root.cert] }).verify(bundle);
  });
  it('a missing intermediate → UNTRUSTED_SIGNER', async () => {
    const { root, leaf } = makeChain();
    await rejectsCode(signAndVerify(leaf, [], [root.cert]), 'UNTRUSTED_SIGNER', /does not chain/);
  });
  it('a leaf with an RSA key → UNTRUSTED_SIGNER', async () => {
    const { root, intermediate } = makeChain();
    const rsaLeaf = mint({ subject: '/CN=rsa', issuer: intermediate, key: rsaKeyPem(), extensions: LEAF_EXTENSIONS });
    const ecBundle = await keySigner({ privateKey: ecKeyPem() }).sign(statement);
    const bundle: BundleJSON = {
      ...ecBundle,
      verificationMaterial: { x509CertificateChain: { certificates: [rsaLeaf.cert, intermediate.cert].map((p) => ({ rawBytes: new X509Certificate(p).raw.toString('base64') })) }, tlogEntries: [] },
    };
    await rejectsCode(certificateVerifier({ trustAnchors: [root.cert] }).verify(bundle), 'UNTRUSTED_SIGNER', /only EC/);
  });
});
