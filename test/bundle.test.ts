import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import { BUNDLE_MEDIA_TYPE_V03_ALT, checkMaterialForMethod, dsseBundle, parseBundle, serializeBundle } from '../src/bundle/bundle.js';
import type { BundleJSON } from '../src/bundle/types.js';
import { isModelSealError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { MT_VECTORS, OMS_BUNDLES, OMS_SCHEMAS } from './helpers/paths.js';
import { specBundleText } from './helpers/spec.js';

const read = (path: string): string => readFileSync(path, 'utf8');
const validDir = join(OMS_BUNDLES, 'valid');
const validBundle = (name: string): any => JSON.parse(read(join(validDir, `${name}.bundle.json`)));

function throwsCode(fn: () => unknown, code: ErrorCode, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isModelSealError(e) && e.code === code && pattern.test(e.message));
}

/** All four OMS schemas loaded; they reference each other by $id. */
function schemaValidator(): (bundle: unknown) => boolean {
  // ajv ships CommonJS; under node16 resolution the default export arrives wrapped.
  type AjvClass = typeof Ajv2020Module.default;
  const Ajv = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const f of readdirSync(OMS_SCHEMAS)) ajv.addSchema(JSON.parse(read(join(OMS_SCHEMAS, f))));
  const bundleSchema = ajv.getSchema('https://model_signing/bundle/v1.0/schema')!;
  const statementSchema = ajv.getSchema('https://model_signing/statement/v1.0/schema')!;
  return (bundle: any) => {
    const ok = bundleSchema(bundle) && statementSchema(JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')));
    return Boolean(ok);
  };
}

describe('parseBundle: accepted', () => {
  it('parses the oms-spec valid bundles from text, bytes and objects', () => {
    for (const f of readdirSync(validDir)) {
      const text = read(join(validDir, f));
      assert.equal(parseBundle(text).mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      assert.ok(parseBundle(Buffer.from(text)).dsseEnvelope);
      assert.ok(parseBundle(JSON.parse(text)).verificationMaterial);
    }
  });
  it('parses the model-transparency bundles (legacy rawBytes, keyid null) and the §13.1 bundle', () => {
    for (const d of ['v1.0.0-elliptic-key', 'v1.0.0-certificate', 'v1.0.0-sigstore']) parseBundle(read(join(MT_VECTORS, d, 'model.sig')));
    parseBundle(specBundleText());
  });
  it('accepts unpadded and URL-safe base64, and multi-megabyte payloads', () => {
    const b = validBundle('key');
    b.dsseEnvelope.signatures[0].sig = 'AQID-_8';
    parseBundle(b);
    b.dsseEnvelope.payload = Buffer.alloc(40_000_000, 0x61).toString('base64');
    parseBundle(b);
  });
  it('lets a plain Sigstore messageSignature bundle through', () => {
    const b = validBundle('sigstore');
    delete b.dsseEnvelope;
    b.messageSignature = { messageDigest: { algorithm: 'SHA2_256', digest: 'AAAA' }, signature: 'AAAA' };
    assert.ok(parseBundle(b).messageSignature);
  });
});

describe('parseBundle: rejected with BAD_BUNDLE', () => {
  it('rejects every oms-spec invalid bundle', () => {
    const dir = join(OMS_BUNDLES, 'invalid');
    const files = readdirSync(dir);
    assert.ok(files.length >= 4);
    for (const f of files) throwsCode(() => parseBundle(read(join(dir, f))), 'BAD_BUNDLE', /./);
  });
  it('empty, truncated, non-JSON and non-object input', () => {
    throwsCode(() => parseBundle(''), 'BAD_BUNDLE', /empty/);
    throwsCode(() => parseBundle(Buffer.from(' \n')), 'BAD_BUNDLE', /empty/);
    const text = specBundleText();
    throwsCode(() => parseBundle(text.slice(0, text.length / 2)), 'BAD_BUNDLE', /not valid JSON/);
    throwsCode(() => parseBundle('hello'), 'BAD_BUNDLE', /not valid JSON/);
    for (const v of ['[]', '42', 'null', '"x"']) throwsCode(() => parseBundle(v), 'BAD_BUNDLE', /not a JSON object/);
    throwsCode(() => parseBundle(null), 'BAD_BUNDLE', /not a JSON object/);
  });
  const mutated = (mutate: (b: any) => void): any => {
    const b = validBundle('key');
    mutate(b);
    return b;
  };
  it('missing or foreign mediaType', () => {
    throwsCode(() => parseBundle(mutated((b) => delete b.mediaType)), 'BAD_BUNDLE', /no mediaType/);
    throwsCode(() => parseBundle(mutated((b) => { b.mediaType = 'application/json'; })), 'BAD_BUNDLE', /not a Sigstore bundle media type/);
  });
  it('missing or empty verification material', () => {
    throwsCode(() => parseBundle(mutated((b) => delete b.verificationMaterial)), 'BAD_BUNDLE', /no verificationMaterial/);
    throwsCode(() => parseBundle(mutated((b) => { b.verificationMaterial = { tlogEntries: [] }; })), 'BAD_BUNDLE', /holds no publicKey/);
    throwsCode(() => parseBundle(mutated((b) => { b.verificationMaterial.x509CertificateChain = { certificates: [] }; })), 'BAD_BUNDLE', /more than one kind/);
    throwsCode(() => parseBundle(mutated((b) => { b.verificationMaterial = { x509CertificateChain: { certificates: [] } }; })), 'BAD_BUNDLE', /holds no certificates/);
    throwsCode(() => parseBundle(mutated((b) => { b.verificationMaterial.tlogEntries = {}; })), 'BAD_BUNDLE', /tlogEntries/);
  });
  it('missing envelope, wrong payloadType, empty signatures', () => {
    throwsCode(() => parseBundle(mutated((b) => delete b.dsseEnvelope)), 'BAD_BUNDLE', /no dsseEnvelope/);
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.payloadType = 'application/json'; })), 'BAD_BUNDLE', /Expected DSSE payload application\/vnd\.in-toto\+json, but got "application\/json"/);
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.signatures = []; })), 'BAD_BUNDLE', /no signatures/);
    throwsCode(() => parseBundle(mutated((b) => delete b.dsseEnvelope.signatures)), 'BAD_BUNDLE', /no signatures/);
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.signatures[0].keyid = 5; })), 'BAD_BUNDLE', /keyid/);
  });
  it('non-base64 fields', () => {
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.payload = 'not base64!'; })), 'BAD_BUNDLE', /payload is not valid base64/);
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.payload = ''; })), 'BAD_BUNDLE', /payload is empty/);
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.signatures[0].sig = 'abcde'; })), 'BAD_BUNDLE', /sig is not valid base64/);
    throwsCode(() => parseBundle(mutated((b) => { b.verificationMaterial.publicKey.rawBytes = '%%%'; })), 'BAD_BUNDLE', /rawBytes is not valid base64/);
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.signatures[0].sig = 'AAAAA==='; })), 'BAD_BUNDLE', /sig is not valid base64/);
    throwsCode(() => parseBundle(mutated((b) => { b.dsseEnvelope.signatures[0].sig = 'AAAA='; })), 'BAD_BUNDLE', /sig is not valid base64/);
    const cert = validBundle('certificate');
    cert.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = '@@@@';
    throwsCode(() => parseBundle(cert), 'BAD_BUNDLE', /certificates\[0\]\.rawBytes is not valid base64/);
  });
});

describe('checkMaterialForMethod', () => {
  const key = (): BundleJSON => parseBundle(validBundle('key'));
  const cert = (): BundleJSON => parseBundle(validBundle('certificate'));
  const sigstore = (): BundleJSON => parseBundle(validBundle('sigstore'));
  it('accepts matching material', () => {
    checkMaterialForMethod(key(), 'key');
    checkMaterialForMethod(cert(), 'certificate');
    checkMaterialForMethod(sigstore(), 'sigstore');
  });
  it('rejects a mismatch in every direction, naming the right command', () => {
    throwsCode(() => checkMaterialForMethod(cert(), 'key'), 'UNTRUSTED_SIGNER', /made with a certificate chain, not a public key; verify it with `verify certificate`/);
    throwsCode(() => checkMaterialForMethod(key(), 'certificate'), 'UNTRUSTED_SIGNER', /made with a public key, not a certificate chain; verify it with `verify key`/);
    throwsCode(() => checkMaterialForMethod(sigstore(), 'key'), 'UNTRUSTED_SIGNER', /`verify sigstore`/);
    throwsCode(() => checkMaterialForMethod(sigstore(), 'certificate'), 'UNTRUSTED_SIGNER', /Sigstore certificate/);
    throwsCode(() => checkMaterialForMethod(key(), 'sigstore'), 'UNTRUSTED_SIGNER', /`verify key`/);
    throwsCode(() => checkMaterialForMethod(cert(), 'sigstore'), 'UNTRUSTED_SIGNER', /`verify certificate`/);
  });
  it('key/certificate: v0.3 media type only (both spellings)', () => {
    for (const make of [key, cert]) {
      const method = make === key ? 'key' : 'certificate';
      const alt = make();
      alt.mediaType = BUNDLE_MEDIA_TYPE_V03_ALT;
      checkMaterialForMethod(alt, method);
      for (const mediaType of ['application/vnd.dev.sigstore.bundle+json;version=0.2', 'application/vnd.dev.sigstore.bundle.v0.2+json', 'application/json']) {
        const b = make();
        b.mediaType = mediaType;
        throwsCode(() => checkMaterialForMethod(b, method), 'BAD_BUNDLE', /Invalid sigstore bundle, got media type/);
      }
    }
  });
  it('pre-v0.3 Sigstore bundles (Fulcio certificate as a chain) count as sigstore material', () => {
    const old = sigstore();
    old.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.2';
    old.verificationMaterial.x509CertificateChain = { certificates: [old.verificationMaterial.certificate!] };
    delete old.verificationMaterial.certificate;
    checkMaterialForMethod(parseBundle(old), 'sigstore');
    throwsCode(() => checkMaterialForMethod(old, 'certificate'), 'UNTRUSTED_SIGNER', /Sigstore certificate, not a certificate chain; verify it with `verify sigstore`/);
    // A v0.3 bundle with a chain is a certificate-method bundle, whatever tlogEntries says.
    const v03 = cert();
    v03.verificationMaterial.tlogEntries = [{}];
    checkMaterialForMethod(v03, 'certificate');
    throwsCode(() => checkMaterialForMethod(v03, 'sigstore'), 'UNTRUSTED_SIGNER', /`verify certificate`/);
  });
  it('sigstore: requires transparency log entries', () => {
    const b = sigstore();
    b.verificationMaterial.tlogEntries = [];
    throwsCode(() => checkMaterialForMethod(b, 'sigstore'), 'BAD_BUNDLE', /no transparency log entries/);
  });
});

describe('dsseBundle and serializeBundle', () => {
  const statement = Buffer.from(JSON.parse(specBundleText()).dsseEnvelope.payload, 'base64');
  const sig = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]);
  it('has exactly the reference shape (§2.3) and serializes compactly', () => {
    const b = dsseBundle(statement, sig, { publicKey: { hint: 'ab'.repeat(32) } });
    const text = serializeBundle(b);
    assert.equal(
      text,
      `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"${'ab'.repeat(32)}"},"tlogEntries":[]},` +
        `"dsseEnvelope":{"payload":"${statement.toString('base64')}","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"${sig.toString('base64')}","keyid":""}]}}`,
    );
    assert.equal(serializeBundle(parseBundle(text)), text);
  });
  it('the bundles we write validate against the OMS JSON schemas', () => {
    const valid = schemaValidator();
    assert.ok(valid(dsseBundle(statement, sig, { publicKey: { hint: 'ab'.repeat(32) } })));
    assert.ok(valid(dsseBundle(statement, sig, { x509CertificateChain: { certificates: [{ rawBytes: 'AAAA' }, { rawBytes: 'AQID' }] } })));
    // The validator is not vacuous: the oms-spec invalid-payload vector fails it.
    const wrong = JSON.parse(read(join(OMS_BUNDLES, 'invalid-payload', 'wrong-predicate.bundle.json')));
    assert.equal(valid(wrong), false);
  });
});
