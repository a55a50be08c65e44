/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import { bundleToJSON } from '@sigstore/bundle';
import { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness } from '@sigstore/sign';
import { sign, verify } from '../src/api.js';
import type { BundleJSON } from '../src/bundle/types.js';
import { isModelSealError } from '../src/errors.js';
import { sigstoreSigner } from '../src/signing/sigstore.js';
import { sigstoreVerifier, verifySigstoreBundle, verifySigstoreFileBundle, type SigstoreVerifyOptions } from '../src/verifying/sigstore.js';
import { MT_VECTORS, OMS_SCHEMAS } from './helpers/paths.js';
import { fakeIdentityToken, startLocalSigstore, type LocalSigstore } from './helpers/sigstore-services.js';
import { rejectsCode } from './helpers/errors.js';

const VECTOR = join(MT_VECTORS, 'v1.0.0-sigstore');
const PG = { identity: 'stefanb@us.ibm.com', identityProvider: 'https://sigstore.verify.ibm.com/oauth2', tufRefresh: false } as const;
const vectorBundle = (): any => JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8'));


function schemaValidator(): (bundle: any) => boolean {
  type AjvClass = typeof Ajv2020Module.default;
  const Ajv = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const f of readdirSync(OMS_SCHEMAS)) ajv.addSchema(JSON.parse(readFileSync(join(OMS_SCHEMAS, f), 'utf8')));
  const bundleSchema = ajv.getSchema('https://model_signing/bundle/v1.0/schema')!;
  const statementSchema = ajv.getSchema('https://model_signing/statement/v1.0/schema')!;
  return (bundle: any) => {
    const ok = bundleSchema(bundle) && statementSchema(JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')));
    if (!ok) console.error(bundleSchema.errors, statementSchema.errors);
    return Boolean(ok);
  };
}

describe('sigstore verification of the public-good vector (offline, shipped root)', () => {
  it('verifies with the exact identity and issuer, returning the DSSE payload and the signer', async () => {
    const v = await verifySigstoreBundle(vectorBundle(), PG);
    assert.equal(v.payloadType, 'application/vnd.in-toto+json');
    const statement = JSON.parse(v.payload.toString('utf8'));
    assert.equal(statement.predicateType, 'https://model_signing/signature/v1.0');
    assert.equal(v.payload.toString('base64'), vectorBundle().dsseEnvelope.payload);
    assert.equal(v.signer.method, 'sigstore');
    assert.equal(v.signer.identity, 'stefanb@us.ibm.com');
    assert.equal(v.signer.issuer, 'https://sigstore.verify.ibm.com/oauth2');
    assert.equal(v.signer.logIndex, vectorBundle().verificationMaterial.tlogEntries[0].logIndex);
    assert.equal(v.signer.signedAt, new Date(Number(vectorBundle().verificationMaterial.tlogEntries[0].integratedTime) * 1000).toISOString());
    assert.deepEqual(v.signer.timestampSources, ['transparency-log']);
    assert.match(v.signer.trustRoot!, /^shipped public-good root/);
  });

  it('verifies through the Verifier interface and with an explicit anchored regex', async () => {
    const v = await sigstoreVerifier({ ...PG }).verify(vectorBundle());
    assert.equal(v.signer.identity, 'stefanb@us.ibm.com');
    const r = await sigstoreVerifier({ identityRegex: 'stefanb@us\\.ibm\\.com', identityProvider: PG.identityProvider, tufRefresh: false }).verify(vectorBundle());
    assert.equal(r.signer.identity, 'stefanb@us.ibm.com');
  });

  it('rejects a wrong identity, a wrong issuer, and identities that only contain or are contained in the signer', async () => {
    for (const identity of ['alice@example.com', 'us.ibm.com', 'stefanb@us.ibm.co', 'tefanb@us.ibm.com', 'xstefanb@us.ibm.com', 'STEFANB@us.ibm.com']) {
      await rejectsCode(verifySigstoreBundle(vectorBundle(), { ...PG, identity }), 'UNTRUSTED_SIGNER', /issued to "stefanb@us\.ibm\.com"/);
    }
    for (const identityProvider of ['https://accounts.google.com', 'https://sigstore.verify.ibm.com/oauth', 'https://sigstore.verify.ibm.com/oauth2/']) {
      await rejectsCode(verifySigstoreBundle(vectorBundle(), { ...PG, identityProvider }), 'UNTRUSTED_SIGNER', /issued by/);
    }
    // A regex is anchored: a fragment of the identity does not match.
    for (const identityRegex of ['stefanb', 'us\\.ibm\\.com', '.*@us\\.ibm\\.co']) {
      await rejectsCode(verifySigstoreBundle(vectorBundle(), { identityRegex, identityProvider: PG.identityProvider, tufRefresh: false }), 'UNTRUSTED_SIGNER');
    }
  });

  it('rejects tampered bundles with the right codes', async () => {
    const payload = vectorBundle();
    const stmt = JSON.parse(Buffer.from(payload.dsseEnvelope.payload, 'base64').toString('utf8'));
    stmt.subject[0].name = 'evil';
    payload.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
    await rejectsCode(verifySigstoreBundle(payload, PG), 'SIGNATURE_INVALID');

    const sig = vectorBundle();
    const raw = Buffer.from(sig.dsseEnvelope.signatures[0].sig, 'base64');
    raw[raw.length - 3]! ^= 0x01;
    sig.dsseEnvelope.signatures[0].sig = raw.toString('base64');
    await rejectsCode(verifySigstoreBundle(sig, PG), 'SIGNATURE_INVALID');

    const set = vectorBundle();
    const promise = Buffer.from(set.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp, 'base64');
    promise[10]! ^= 0x01;
    set.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = promise.toString('base64');
    await rejectsCode(verifySigstoreBundle(set, PG), 'SIGNATURE_INVALID');

    const time = vectorBundle();
    time.verificationMaterial.tlogEntries[0].integratedTime = String(Number(time.verificationMaterial.tlogEntries[0].integratedTime) + 1);
    await rejectsCode(verifySigstoreBundle(time, PG), 'SIGNATURE_INVALID');

    const cert = vectorBundle();
    const der = Buffer.from(cert.verificationMaterial.certificate.rawBytes, 'base64');
    der[der.length - 5]! ^= 0x01;
    cert.verificationMaterial.certificate.rawBytes = der.toString('base64');
    await assert.rejects(verifySigstoreBundle(cert, PG), (e: unknown) => isModelSealError(e) && ['UNTRUSTED_SIGNER', 'SIGNATURE_INVALID', 'BAD_BUNDLE'].includes(e.code));

    const noLog = vectorBundle();
    noLog.verificationMaterial.tlogEntries = [];
    await assert.rejects(verifySigstoreBundle(noLog, PG), (e: unknown) => isModelSealError(e) && ['SIGNATURE_INVALID', 'BAD_BUNDLE'].includes(e.code));

    const malformed = vectorBundle();
    malformed.dsseEnvelope.signatures = [];
    await rejectsCode(verifySigstoreBundle(malformed, PG), 'BAD_BUNDLE');

    const keyBundle = JSON.parse(readFileSync(join(MT_VECTORS, 'v1.0.0-elliptic-key', 'model.sig'), 'utf8'));
    await rejectsCode(verifySigstoreBundle(keyBundle, PG), 'UNTRUSTED_SIGNER');
  });

  it('needs exactly one of identity / identityRegex, and an issuer', () => {
    const bad: SigstoreVerifyOptions[] = [
      { identityProvider: PG.identityProvider },
      { identity: 'a', identityRegex: 'a', identityProvider: PG.identityProvider },
      { identity: 'a', identityProvider: '' },
      { identityRegex: '(', identityProvider: PG.identityProvider },
    ];
    for (const o of bad) assert.throws(() => sigstoreVerifier(o), (e: unknown) => isModelSealError(e) && e.code === 'USAGE');
  });
});

describe('sigstore keyless round trip against a local Fulcio/Rekor/TSA', () => {
  let svc: LocalSigstore;
  let work: string;
  const who = { identity: 'alice@example.test', identityProvider: 'https://issuer.example.test' };
  before(async () => {
    svc = await startLocalSigstore();
    work = mkdtempSync(join(tmpdir(), 'modelseal-keyless-'));
  });
  after(async () => {
    await svc.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('signs a directory with api.sign and verifies it with api.verify; the bundle is reference-shaped and schema-valid', async () => {
    const model = join(work, 'model');
    mkdirSync(join(model, 'sub'), { recursive: true });
    writeFileSync(join(model, 'weights.bin'), Buffer.alloc(4096, 7));
    writeFileSync(join(model, 'sub', 'config.json'), '{"layers": 3}');
    const sigPath = join(work, 'model.sig');
    const signer = sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: svc.trustConfigPath });
    const { bundle } = await sign(model, { signer, signaturePath: sigPath });
    const onDisk = JSON.parse(readFileSync(sigPath, 'utf8'));
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(bundle)));
    assert.equal(onDisk.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.ok(onDisk.verificationMaterial.certificate.rawBytes);
    assert.equal(onDisk.verificationMaterial.x509CertificateChain, undefined);
    assert.equal(onDisk.verificationMaterial.tlogEntries.length, 1);
    assert.deepEqual(onDisk.verificationMaterial.tlogEntries[0].kindVersion, { kind: 'dsse', version: '0.0.1' });
    assert.equal(onDisk.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    assert.equal(onDisk.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
    assert.equal(onDisk.dsseEnvelope.signatures.length, 1);
    assert.equal('keyid' in onDisk.dsseEnvelope.signatures[0], false);
    assert.ok(schemaValidator()(onDisk), 'bundle validates against the OMS schemas');

    const verifier = sigstoreVerifier({ ...who, trustConfig: svc.trustConfigPath });
    const result = await verify(model, { verifier, signaturePath: sigPath });
    assert.equal(result.signer.identity, 'alice@example.test');
    assert.equal(result.signer.issuer, 'https://issuer.example.test');
    assert.deepEqual(result.signer.timestampSources, ['timestamp-authority', 'transparency-log']);
    assert.match(result.signer.trustRoot!, /trust config/);
    assert.ok(result.signer.logIndex);
    assert.ok(Math.abs(Date.parse(result.signer.signedAt!) - Date.now()) < 120_000);
    assert.equal(result.filesCompared, 2);

    // A changed model fails on content, a wrong identity on the signer.
    writeFileSync(join(model, 'sub', 'config.json'), '{"layers": 4}');
    await rejectsCode(verify(model, { verifier, signaturePath: sigPath }), 'CONTENT_MISMATCH');
    await rejectsCode(verify(model, { verifier: sigstoreVerifier({ ...who, identity: 'bob@example.test', trustConfig: svc.trustConfigPath }), signaturePath: sigPath }), 'UNTRUSTED_SIGNER');
  });

  it('signs and verifies a single-file model', async () => {
    const file = join(work, 'model.onnx');
    writeFileSync(file, Buffer.from('pretend onnx bytes'));
    const sigPath = join(work, 'single.sig');
    await sign(file, { signer: sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: svc.trustConfigPath }), signaturePath: sigPath });
    const r = await verify(file, { verifier: sigstoreVerifier({ ...who, trustConfig: svc.trustConfigPath }), signaturePath: sigPath });
    assert.equal(r.signer.identity, 'alice@example.test');
    assert.equal(r.filesCompared, 1);
  });

  it('does not trust a bundle from another Sigstore (public-good root)', async () => {
    const b = await sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: svc.trustConfigPath }).sign(Buffer.from('{}'));
    // The foreign TSA timestamp is checked first: rejected either way (both codes exit 5).
    await assert.rejects(verifySigstoreBundle(b, { ...who, tufRefresh: false }), (e: unknown) => isModelSealError(e) && ['UNTRUSTED_SIGNER', 'SIGNATURE_INVALID'].includes(e.code));
    const noTsa = await startLocalSigstore({ tsa: false });
    try {
      const b2 = await sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: noTsa.trustConfigPath }).sign(Buffer.from('{}'));
      await rejectsCode(verifySigstoreBundle(b2, { ...who, tufRefresh: false }), 'UNTRUSTED_SIGNER', /not trusted/);
      // ...and another local Sigstore's root does not vouch for it either.
      await rejectsCode(verifySigstoreBundle(b2, { ...who, trustConfig: svc.trustConfigPath }), 'UNTRUSTED_SIGNER', /not trusted/);
    } finally {
      await noTsa.stop();
    }
  });

  it('works without a TSA in the signing config (tlog time only)', async () => {
    const noTsa = await startLocalSigstore({ tsa: false });
    try {
      const b = await sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: noTsa.trustConfigPath }).sign(Buffer.from('{"a":1}'));
      assert.equal((b.verificationMaterial.timestampVerificationData as any)?.rfc3161Timestamps?.length ?? 0, 0);
      assert.equal(noTsa.hits['/api/v1/timestamp'] ?? 0, 0);
      const v = await verifySigstoreBundle(b, { ...who, trustConfig: noTsa.trustConfigPath });
      assert.deepEqual(v.signer.timestampSources, ['transparency-log']);
    } finally {
      await noTsa.stop();
    }
  });

  it('accepts Rekor v2 entries: dsse 0.0.2, and hashedrekord 0.0.2 over the PAE (sigstore-python), time from the TSA', async () => {
    for (const rekorV2DsseAsHashedRekord of [false, true]) {
      const v2 = await startLocalSigstore({ rekorV2: true, rekorV2DsseAsHashedRekord });
      try {
        const b = await sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: v2.trustConfigPath }).sign(Buffer.from('{"v2":true}'));
        const entry = (b.verificationMaterial.tlogEntries as any[])[0];
        assert.deepEqual(entry.kindVersion, { kind: rekorV2DsseAsHashedRekord ? 'hashedrekord' : 'dsse', version: '0.0.2' });
        assert.equal(entry.inclusionPromise, undefined);
        assert.equal(v2.hits['/api/v2/log/entries'], 1);
        const v = await verifySigstoreBundle(b, { ...who, trustConfig: v2.trustConfigPath });
        assert.equal(v.payload.toString(), '{"v2":true}');
        assert.deepEqual(v.signer.timestampSources, ['timestamp-authority']);
        const tampered = JSON.parse(JSON.stringify(b));
        tampered.dsseEnvelope.payload = Buffer.from('{"v2":false}').toString('base64');
        await rejectsCode(verifySigstoreBundle(tampered, { ...who, trustConfig: v2.trustConfigPath }), 'SIGNATURE_INVALID');
      } finally {
        await v2.stop();
      }
    }
  });

  it('retries a failing service, and reports NETWORK when it stays down (no signature written)', async () => {
    svc.failNext('/api/v2/signingCert', 1);
    const before = svc.hits['/api/v2/signingCert'] ?? 0;
    const b = await sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: svc.trustConfigPath }).sign(Buffer.from('{}'));
    assert.ok(b.verificationMaterial.certificate);
    assert.equal((svc.hits['/api/v2/signingCert'] ?? 0) - before, 2);

    svc.failNext('/api/v1/log/entries', 10);
    const model = join(work, 'net.bin');
    writeFileSync(model, 'x');
    const sigPath = join(work, 'net.sig');
    const started = Date.now();
    await rejectsCode(
      sign(model, { signer: sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: svc.trustConfigPath, retries: 1 }), signaturePath: sigPath }),
      'NETWORK',
    );
    assert.equal(existsSync(sigPath), false);
    assert.ok(Date.now() - started < 15_000);
    svc.failNext('/api/v1/log/entries', 0);
  });

  it('reports NETWORK when the CA does not answer', async () => {
    const dead = JSON.parse(readFileSync(svc.trustConfigPath, 'utf8'));
    dead.signingConfig.caUrls[0].url = 'http://127.0.0.1:9';
    const p = join(work, 'dead.json');
    writeFileSync(p, JSON.stringify(dead));
    await rejectsCode(sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: p, retries: 0, timeoutMs: 2000 }).sign(Buffer.from('{}')), 'NETWORK');
  });

  it('rejects an unusable trust config before signing', () => {
    const p = join(work, 'bad.json');
    writeFileSync(p, '{"mediaType":"application/vnd.dev.sigstore.clienttrustconfig.v0.1+json","trustedRoot":{}}');
    assert.throws(() => sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: p }), (e: unknown) => isModelSealError(e) && e.code === 'BAD_INPUT');
    assert.throws(() => sigstoreSigner({ identityToken: fakeIdentityToken(), trustConfig: join(work, 'missing.json') }), (e: unknown) => isModelSealError(e) && e.code === 'BAD_INPUT');
  });

  it('verifies a plain Sigstore bundle over one file (message signature + hashedrekord)', async () => {
    const file = join(work, 'model.joblib');
    const bytes = Buffer.from('a joblib pickle, pretend');
    writeFileSync(file, bytes);
    const builder = new MessageSignatureBundleBuilder({
      signer: new FulcioSigner({ fulcioBaseURL: svc.url, identityProvider: { getToken: async () => fakeIdentityToken() } }),
      witnesses: [new RekorWitness({ rekorBaseURL: svc.url }), new TSAWitness({ tsaBaseURL: svc.url })],
    });
    const plain = bundleToJSON(await builder.create({ data: bytes })) as unknown as BundleJSON;
    assert.ok(plain.messageSignature);
    assert.equal((plain.verificationMaterial.tlogEntries as any[])[0].kindVersion.kind, 'hashedrekord');
    const digest = createHash('sha256').update(bytes).digest();
    const opts = { ...who, trustConfig: svc.trustConfigPath };

    const info = await verifySigstoreFileBundle(plain, { path: file, sha256: digest }, opts);
    assert.equal(info.identity, 'alice@example.test');
    assert.deepEqual(info.timestampSources, ['timestamp-authority', 'transparency-log']);
    await rejectsCode(verifySigstoreFileBundle(plain, { path: file, sha256: createHash('sha256').update('other').digest() }, opts), 'CONTENT_MISMATCH');
    await rejectsCode(verifySigstoreFileBundle(plain, { path: file, sha256: digest }, { ...opts, identity: 'alice@example.tes' }), 'UNTRUSTED_SIGNER');

    const badSig = JSON.parse(JSON.stringify(plain));
    const s = Buffer.from(badSig.messageSignature.signature, 'base64');
    s[s.length - 2]! ^= 1;
    badSig.messageSignature.signature = s.toString('base64');
    await rejectsCode(verifySigstoreFileBundle(badSig, { path: file, sha256: digest }, opts), 'SIGNATURE_INVALID');

    // Through the public API: verify() recognises the plain bundle for a single file.
    writeFileSync(join(work, 'model.joblib.sigstore'), JSON.stringify(plain));
    const r = await verify(file, { verifier: sigstoreVerifier(opts), signaturePath: join(work, 'model.joblib.sigstore') });
    assert.equal(r.signer.identity, 'alice@example.test');
    writeFileSync(file, 'tampered');
    await rejectsCode(verify(file, { verifier: sigstoreVerifier(opts), signaturePath: join(work, 'model.joblib.sigstore') }), 'CONTENT_MISMATCH');
  });
});
