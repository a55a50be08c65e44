/**
 * sign → verify round trips through the public API, for every curve, serialization and hash,
 * in directories and single files, with our bundles checked against the OMS JSON schemas.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hash, sign, verify } from '../src/api.js';
import type { HashAlgorithm, SerializationMethod } from '../src/manifest/types.js';
import { certificateSigner } from '../src/signing/certificate.js';
import { keySigner } from '../src/signing/key.js';
import type { Signer } from '../src/signing/signer.js';
import { certificateVerifier } from '../src/verifying/certificate.js';
import { keyVerifier } from '../src/verifying/key.js';
import { MT_KEYS } from './helpers/paths.js';
import { validateBundle } from './helpers/schemas.js';
import { makeModel, tempDir } from './helpers/tmp.js';

function keyPair(namedCurve: string): { priv: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return { priv: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, pub: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

const MODEL_FILES = { 'config.json': '{"layers": 2}\n', 'weights.bin': Buffer.alloc(3000, 7), 'tokenizer/vocab.txt': 'a\nb\n', 'empty.txt': '' };

const CURVES = ['prime256v1', 'secp384r1', 'secp521r1'];
const METHODS: { method: SerializationMethod; shardSize?: number }[] = [{ method: 'files' }, { method: 'shards', shardSize: 1024 }];
const ALGORITHMS: HashAlgorithm[] = ['sha256', 'blake2b', 'blake3'];

describe('key round trips', () => {
  for (const curve of CURVES) {
    for (const m of METHODS) {
      for (const alg of ALGORITHMS) {
        if (alg === 'blake3' && m.method === 'shards' && curve !== 'prime256v1') continue; // one blake3-shards case is enough
        test(`${curve}, ${m.method}, ${alg}: directory and single file`, async () => {
          const { priv, pub } = keyPair(curve);
          for (const single of [false, true]) {
            const root = makeModel(MODEL_FILES);
            const model = single ? join(root, 'weights.bin') : root;
            const sig = join(tempDir(), 'model.sig');
            const signed = await sign(model, { signer: keySigner({ privateKey: priv }), signaturePath: sig, hashAlgorithm: alg, method: m.method, ...(m.shardSize ? { shardSize: m.shardSize } : {}) });
            const bundle = JSON.parse(readFileSync(sig, 'utf8'));
            validateBundle(bundle);
            assert.equal(signed.manifest.serialization.hashType, alg);
            const r = await verify(model, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig });
            assert.equal(r.manifest.rootDigest, signed.manifest.rootDigest);
            const expectedCount = single ? (m.method === 'shards' ? 3 : 1) : m.method === 'shards' ? 1 + 3 + 1 : 4;
            assert.equal(r.filesCompared, expectedCount);
            // ... and the same signature fails after one byte changes.
            const w = join(root, 'weights.bin');
            const b = readFileSync(w);
            b[2500] = 8;
            writeFileSync(w, b);
            await assert.rejects(verify(model, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig }), (e: { code?: string; message?: string }) => {
              assert.equal(e.code, 'CONTENT_MISMATCH');
              assert.match(e.message ?? '', m.method === 'shards' ? /weights\.bin:2048:3000/ : /weights\.bin/);
              return true;
            });
          }
        });
      }
    }
  }
});

describe('certificate round trips with the shared PKI', () => {
  const signer = (): Signer =>
    certificateSigner({
      privateKey: readFileSync(join(MT_KEYS, 'signing-key.pem')),
      signingCertificate: readFileSync(join(MT_KEYS, 'signing-key-cert.pem')),
      certificateChain: [readFileSync(join(MT_KEYS, 'int-ca-cert.pem'))],
    });
  const anchors = [readFileSync(join(MT_KEYS, 'ca-cert.pem'))];

  for (const m of METHODS) {
    for (const alg of ALGORITHMS) {
      test(`${m.method}, ${alg}`, async () => {
        const root = makeModel(MODEL_FILES);
        const sig = join(root, 'model.sig'); // inside the model: excluded automatically
        await sign(root, { signer: signer(), signaturePath: sig, hashAlgorithm: alg, method: m.method, ...(m.shardSize ? { shardSize: m.shardSize } : {}) });
        validateBundle(JSON.parse(readFileSync(sig, 'utf8')));
        const r = await verify(root, { verifier: certificateVerifier({ trustAnchors: anchors }), signaturePath: sig });
        assert.equal(r.method, 'certificate');
        assert.match(r.signer.certificateSubject ?? '', /intermediate-ca/);
      });
    }
  }
});

describe('what the API records and enforces', () => {
  test('the statement records exclusions, and verification applies them', async () => {
    const { priv, pub } = keyPair('prime256v1');
    const root = makeModel({ 'w.bin': 'w', 'cache/x': 'x', '.gitignore': 'g' });
    const sig = join(root, 'model.sig');
    const s = await sign(root, { signer: keySigner({ privateKey: priv }), signaturePath: sig, ignorePaths: [join(root, 'cache')] });
    assert.deepEqual(s.manifest.serialization.ignorePaths, ['.git', '.gitattributes', '.github', '.gitignore', 'cache', 'model.sig']);
    assert.deepEqual(s.manifest.items.map((i) => i.name), ['w.bin']);
    // Verification needs no --ignore-paths: the recorded ones apply, so cache/ may change freely.
    writeFileSync(join(root, 'cache', 'x'), 'changed');
    const r = await verify(root, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig });
    assert.equal(r.filesCompared, 1);
  });

  test('a signed file excluded at verification is reported missing (exclusion cannot skip a check)', async () => {
    const { priv, pub } = keyPair('prime256v1');
    const root = makeModel({ 'w.bin': 'w', 'x.bin': 'x' });
    const sig = join(tempDir(), 'model.sig');
    await sign(root, { signer: keySigner({ privateKey: priv }), signaturePath: sig });
    await assert.rejects(verify(root, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig, ignorePaths: [join(root, 'x.bin')] }), /missing: x\.bin/);
  });

  test('an empty model is refused at signing, and no signature file is written', async () => {
    const { priv } = keyPair('prime256v1');
    const root = makeModel({ '.gitignore': 'only excluded things' });
    const sig = join(tempDir(), 'model.sig');
    await assert.rejects(sign(root, { signer: keySigner({ privateKey: priv }), signaturePath: sig }), { code: 'BAD_INPUT' });
    assert.equal(existsSync(sig), false);
  });

  test('a failing signer leaves an existing signature untouched and no temporary file behind', async () => {
    const root = makeModel({ 'w.bin': 'w' });
    const dir = tempDir();
    const sig = join(dir, 'model.sig');
    writeFileSync(sig, 'previous');
    const failing: Signer = { method: 'key', sign: async () => { throw new Error('token expired'); } };
    await assert.rejects(sign(root, { signer: failing, signaturePath: sig }), /token expired/);
    assert.equal(readFileSync(sig, 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dir), ['model.sig']);
  });

  test('a missing or unreadable signature file is BAD_BUNDLE', async () => {
    const { pub } = keyPair('prime256v1');
    const root = makeModel({ 'w.bin': 'w' });
    await assert.rejects(verify(root, { verifier: keyVerifier({ publicKey: pub }), signaturePath: join(root, 'nope.sig') }), { code: 'BAD_BUNDLE' });
  });

  test('hashing only in worker threads (useMainThread: false, as the server does) gives the same manifest', async () => {
    const root = makeModel(MODEL_FILES);
    const inline = await hash(root, { method: 'shards', shardSize: 1000 });
    const workers = await hash(root, { method: 'shards', shardSize: 1000, useMainThread: false });
    assert.deepEqual(workers.items, inline.items);
    assert.equal(workers.rootDigest, inline.rootDigest);
  });

  test('a file that grows while the model is hashed is refused (the appended bytes were never read)', async () => {
    const { pub, priv } = keyPair('prime256v1');
    const root = makeModel({ 'big.bin': Buffer.alloc(3 << 20, 1), 'small.bin': 's' });
    const sig = join(tempDir(), 'model.sig');
    await sign(root, { signer: keySigner({ privateKey: priv }), signaturePath: sig });
    let appended = false;
    const onProgress = (): void => {
      if (appended) return;
      appended = true;
      appendFileSync(join(root, 'big.bin'), 'planted after the listing');
    };
    await assert.rejects(verify(root, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig, onProgress }), (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'BAD_INPUT');
      assert.match(e.message ?? '', /'big\.bin': it changed while it was being hashed/);
      return true;
    });
    assert.ok(appended);
  });

  test('spec §13.1: the tiny model hashes to the documented root digests', async () => {
    const root = makeModel({ 'config.json': '{"layers": 2}\n', 'weights.bin': '0123456789abcdefghij' });
    assert.equal((await hash(root)).rootDigest, 'ac42b02e7c1fec8802e86cd681999870e989fa31adb379038bdf6973caac81ad');
    assert.equal((await hash(root, { hashAlgorithm: 'blake2b' })).rootDigest, '3057b9fae31b3fbf4d431c27933d4cee20d2307ec00d39a285da7f95c49f29f3');
    assert.equal((await hash(root, { hashAlgorithm: 'blake3' })).rootDigest, '26bc001416a6749b152f47d22d535ca75eb8b2b85735655c80b86c380ea91da3');
    // §13.2: shards of 8 bytes in code-point order.
    assert.equal((await hash(root, { method: 'shards', shardSize: 8 })).rootDigest, 'af8a53e08660e05cf99710648b4486dfbbd085ad161b541b617113ae1ee41d58');
  });
});
