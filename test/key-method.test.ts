import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dsseBundle, parseBundle } from '../src/bundle/bundle.js';
import { legacyPae } from '../src/bundle/dsse.js';
import type { BundleJSON } from '../src/bundle/types.js';
import { isModelSealError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { decodeStatement, encodeStatement } from '../src/manifest/statement.js';
import type { Manifest } from '../src/manifest/types.js';
import { keyHint, loadPrivateKey, loadPublicKey } from '../src/signing/ec-keys.js';
import { keySigner } from '../src/signing/key.js';
import { LEGACY_PAE_WARNING, OLD_MATERIAL_WARNING, keyVerifier } from '../src/verifying/key.js';
import { MT_KEYS, MT_VECTORS } from './helpers/paths.js';
import { validateBundle } from './helpers/schemas.js';
import { specBundleText, specP384PublicKeyPem, specPublicKeyPem } from './helpers/spec.js';

const CURVES = ['prime256v1', 'secp384r1', 'secp521r1'] as const;
const IN_TOTO = 'application/vnd.in-toto+json';

async function rejectsCode(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => isModelSealError(e) && e.code === code && pattern.test(e.message));
}
function throwsCode(fn: () => unknown, code: ErrorCode, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isModelSealError(e) && e.code === code && pattern.test(e.message));
}

const manifest: Manifest = {
  modelName: 'm',
  serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false },
  items: [{ name: 'signme-1', algorithm: 'sha256', digest: 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc' }],
  rootDigest: 'unused',
};
const statement = encodeStatement({ ...manifest, rootDigest: '6a0a0bb0bb71ac2c2b5ea3d0a02a5c5e64b1c9fd2bc8c4fec4bd95b36d6df4ea' });

function keyPair(curve: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  return {
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    sec1: privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    pub: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

describe('key hint (§2.4)', () => {
  it('matches the spec check values', () => {
    assert.equal(keyHint(loadPublicKey(specP384PublicKeyPem())), 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
    assert.equal(keyHint(loadPublicKey(specPublicKeyPem())), '893cd999cb65a8c4e2c1bbcbc9219708bc7f8577005c3a1f257c80a42946e535');
  });
  it('re-encodes: a key file with a certtool preamble gives the same hint, also from the private key', () => {
    const pubFile = readFileSync(join(MT_KEYS, 'signing-key-pub.pem'), 'utf8');
    assert.ok(!pubFile.startsWith('-----BEGIN'));
    assert.equal(keyHint(loadPublicKey(pubFile)), 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
    assert.equal(keyHint(loadPrivateKey(readFileSync(join(MT_KEYS, 'signing-key.pem')))), 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
  });
});

describe('key verification of foreign bundles', () => {
  it('verifies the §13.1 bundle with the spec public key', async () => {
    const result = await keyVerifier({ publicKey: specPublicKeyPem() }).verify(parseBundle(specBundleText()));
    assert.equal(result.signer.method, 'key');
    assert.equal(result.signer.keyHint, '893cd999cb65a8c4e2c1bbcbc9219708bc7f8577005c3a1f257c80a42946e535');
    assert.deepEqual(result.signer.warnings, []);
    assert.equal(result.payloadType, IN_TOTO);
    assert.equal(decodeStatement(result.payload).rootDigest, 'ac42b02e7c1fec8802e86cd681999870e989fa31adb379038bdf6973caac81ad');
  });
  it('verifies model-transparency v1.0.0-elliptic-key (legacy rawBytes, P-384) with a warning', async () => {
    const bundle = parseBundle(readFileSync(join(MT_VECTORS, 'v1.0.0-elliptic-key', 'model.sig')));
    const result = await keyVerifier({ publicKey: readFileSync(join(MT_KEYS, 'signing-key-pub.pem')) }).verify(bundle);
    assert.deepEqual(result.signer.warnings, [OLD_MATERIAL_WARNING]);
    const m = decodeStatement(result.payload);
    assert.deepEqual(m.items.map((i) => i.name), ['.']);
    assert.equal(m.items[0]!.digest, 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc');
  });
  it('a different key against a legacy rawBytes bundle is a key mismatch', async () => {
    const bundle = parseBundle(readFileSync(join(MT_VECTORS, 'v1.0.0-elliptic-key', 'model.sig')));
    await rejectsCode(keyVerifier({ publicKey: keyPair('secp384r1').pub }).verify(bundle), 'UNTRUSTED_SIGNER', /Key mismatch/);
  });
});

describe('key signing round trips', () => {
  for (const curve of CURVES) {
    for (const form of ['pkcs8', 'sec1', 'encrypted', 'sec1-encrypted'] as const) {
      it(`${curve} ${form}`, async () => {
        const keys = keyPair(curve);
        const encrypted = form === 'encrypted' || form === 'sec1-encrypted';
        const privateKey = encrypted
          ? (createPrivateKey(keys.pkcs8).export({ type: form === 'encrypted' ? 'pkcs8' : 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'hunter2' }) as string)
          : keys[form];
        if (form === 'sec1-encrypted') assert.match(privateKey, /Proc-Type: 4,ENCRYPTED/);
        const signer = keySigner(encrypted ? { privateKey, password: 'hunter2' } : { privateKey: `Some preamble text\n${privateKey}` });
        assert.equal(signer.method, 'key');
        const bundle = await signer.sign(statement);
        assert.equal(bundle.verificationMaterial.publicKey!.hint, keyHint(loadPublicKey(keys.pub)));
        validateBundle(bundle);
        const result = await keyVerifier({ publicKey: keys.pub }).verify(JSON.parse(JSON.stringify(bundle)));
        assert.ok(result.payload.equals(statement));
        assert.deepEqual(result.signer.warnings, []);
      });
    }
  }
  it('signatures are DER ECDSA with the curve hash over the PAE (checked with openssl)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelseal-key-'));
    try {
      for (const [curve, digest] of [['prime256v1', '-sha256'], ['secp384r1', '-sha384'], ['secp521r1', '-sha512']] as const) {
        const keys = keyPair(curve);
        const bundle = await keySigner({ privateKey: keys.pkcs8 }).sign(statement);
        writeFileSync(join(dir, 'pub.pem'), keys.pub);
        writeFileSync(join(dir, 'sig.der'), Buffer.from(bundle.dsseEnvelope!.signatures[0]!.sig, 'base64'));
        writeFileSync(join(dir, 'pae.bin'), Buffer.concat([Buffer.from(`DSSEv1 28 ${IN_TOTO} ${statement.length} `), statement]));
        const out = execFileSync('openssl', ['dgst', digest, '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'pae.bin')]).toString();
        assert.match(out, /Verified OK/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('accepts a legacy (v0.2) PAE signature with a warning', async () => {
    const keys = keyPair('prime256v1');
    const sig = sign('sha256', legacyPae(statement), keys.pkcs8);
    const bundle = dsseBundle(statement, sig, { publicKey: { hint: keyHint(loadPublicKey(keys.pub)) } });
    const result = await keyVerifier({ publicKey: keys.pub }).verify(bundle);
    assert.deepEqual(result.signer.warnings, [LEGACY_PAE_WARNING]);
  });
});

describe('key method: negative cases', () => {
  const keys = keyPair('secp384r1');
  const signed = keySigner({ privateKey: keys.pkcs8 }).sign(statement);
  const copy = async (): Promise<BundleJSON> => JSON.parse(JSON.stringify(await signed));

  it('wrong key (hint mismatch) → UNTRUSTED_SIGNER', async () => {
    await rejectsCode(keyVerifier({ publicKey: keyPair('secp384r1').pub }).verify(await copy()), 'UNTRUSTED_SIGNER', /Key mismatch/);
  });
  it('wrong key without hint → SIGNATURE_INVALID; empty hint warns', async () => {
    const b = await copy();
    b.verificationMaterial.publicKey = { hint: '' };
    await rejectsCode(keyVerifier({ publicKey: keyPair('secp384r1').pub }).verify(b), 'SIGNATURE_INVALID', /does not verify/);
    const ok = await keyVerifier({ publicKey: keys.pub }).verify(b);
    assert.deepEqual(ok.signer.warnings, [OLD_MATERIAL_WARNING]);
  });
  it('hint compared case-sensitively', async () => {
    const b = await copy();
    b.verificationMaterial.publicKey!.hint = b.verificationMaterial.publicKey!.hint!.toUpperCase();
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(b), 'UNTRUSTED_SIGNER', /Key mismatch/);
  });
  it('tampered payload → SIGNATURE_INVALID', async () => {
    const b = await copy();
    const text = Buffer.from(b.dsseEnvelope!.payload, 'base64').toString().replace('signme-1', 'signme-X');
    b.dsseEnvelope!.payload = Buffer.from(text).toString('base64');
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(b), 'SIGNATURE_INVALID', /does not verify/);
  });
  it('tampered signature → SIGNATURE_INVALID', async () => {
    const b = await copy();
    const sig = Buffer.from(b.dsseEnvelope!.signatures[0]!.sig, 'base64');
    sig[sig.length - 3]! ^= 0x01;
    b.dsseEnvelope!.signatures[0]!.sig = sig.toString('base64');
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(b), 'SIGNATURE_INVALID', /does not verify/);
  });
  it('material/method mismatch and bad media type', async () => {
    const cert = JSON.parse(readFileSync(join(MT_VECTORS, 'v1.0.0-certificate', 'model.sig'), 'utf8'));
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(cert), 'UNTRUSTED_SIGNER', /certificate chain, not a public key/);
    const b = await copy();
    b.mediaType = 'application/json';
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(b), 'BAD_BUNDLE', /./);
    const c = await copy();
    c.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.2';
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(c), 'BAD_BUNDLE', /media type/);
  });
  it('wrong payloadType and empty signatures → BAD_BUNDLE', async () => {
    const b = await copy();
    b.dsseEnvelope!.payloadType = 'application/json';
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(b), 'BAD_BUNDLE', /Expected DSSE payload/);
    const c = await copy();
    c.dsseEnvelope!.signatures = [];
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(c), 'BAD_BUNDLE', /no signatures/);
  });
  it('only signatures[0] counts', async () => {
    const b = await copy();
    b.dsseEnvelope!.signatures.push({ sig: 'AAAA' });
    await keyVerifier({ publicKey: keys.pub }).verify(b);
    b.dsseEnvelope!.signatures.reverse();
    await rejectsCode(keyVerifier({ publicKey: keys.pub }).verify(b), 'SIGNATURE_INVALID', /./);
  });
});

describe('key loading errors (BAD_INPUT)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ed = generateKeyPairSync('ed25519');
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const pem = (k: { export: (o: any) => string | Buffer }, type: string) => k.export({ type, format: 'pem' }) as string;
  it('refuses RSA, Ed25519 and other curves, for signing and verifying', () => {
    for (const pair of [rsa, ed, k1]) {
      throwsCode(() => keySigner({ privateKey: pem(pair.privateKey, 'pkcs8') }), 'BAD_INPUT', /only EC P-256\/P-384\/P-521 keys are supported/);
      throwsCode(() => keyVerifier({ publicKey: pem(pair.publicKey, 'spki') }), 'BAD_INPUT', /only EC P-256\/P-384\/P-521 keys are supported/);
    }
  });
  it('wrong or missing password, garbage, public key as private key', () => {
    const enc = createPrivateKey(keyPair('prime256v1').pkcs8).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }) as string;
    throwsCode(() => keySigner({ privateKey: enc, password: 'wrong' }), 'BAD_INPUT', /wrong password/);
    throwsCode(() => keySigner({ privateKey: enc }), 'BAD_INPUT', /password is required/);
    const encSec1 = createPrivateKey(keyPair('prime256v1').pkcs8).export({ type: 'sec1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'right' }) as string;
    throwsCode(() => keySigner({ privateKey: encSec1, password: 'wrong' }), 'BAD_INPUT', /wrong password/);
    throwsCode(() => keySigner({ privateKey: encSec1 }), 'BAD_INPUT', /password is required/);
    throwsCode(() => keySigner({ privateKey: 'not a key' }), 'BAD_INPUT', /not PEM/);
    throwsCode(() => keySigner({ privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), 'BAD_INPUT', /could not be read/);
    throwsCode(() => keyVerifier({ publicKey: 'nope' }), 'BAD_INPUT', /not PEM/);
    throwsCode(() => keySigner({ privateKey: readFileSync(join(MT_KEYS, 'signing-key-pub.pem')) }), 'BAD_INPUT', /holds no private key/);
  });
});
