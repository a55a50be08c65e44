/**
 * The CLI as a real process: flags in both spellings, one-line outcomes, --json, exit codes per
 * failure class, no stack traces, no partial signature files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI_MAIN, COMPILED_SRC, MT_KEYS, MT_VECTORS } from './helpers/paths.js';
import { makeModel, tempDir } from './helpers/tmp.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd?: string, entry = CLI_MAIN): Run {
  const r = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', cwd: cwd ?? process.cwd(), timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function keys(dir: string, curve = 'prime256v1'): { priv: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const priv = join(dir, 'key.pem');
  const pub = join(dir, 'key.pub');
  writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { priv, pub };
}

/** One line on stderr, no stack trace. */
function oneCleanLine(stderr: string): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

const tinyModel = () => makeModel({ 'config.json': '{"layers": 2}\n', 'weights.bin': '0123456789abcdefghij' });

describe('modelseal CLI', () => {
  test('sign key + verify key: exit 0, one line naming the signer, the files and the method', () => {
    const dir = tempDir();
    const { priv, pub } = keys(dir);
    const model = tinyModel();
    const sig = join(dir, 'model.sig');
    const s = cli(['sign', 'key', model, '--private-key', priv, '--signature', sig]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /^Signing succeeded: wrote .*model\.sig \(key; 2 files, sha256\)\n$/);
    assert.equal(s.stderr, ''); // no progress bar when stderr is not a terminal
    const v = cli(['verify', 'key', model, '--signature', sig, '--public-key', pub]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^Verification succeeded: signed by key [0-9a-f]{64}; 2 files verified \(key, sha256\)\n$/);
  });

  test('underscore spellings are the same options (--private_key, --public_key)', () => {
    const dir = tempDir();
    const { priv, pub } = keys(dir);
    const model = tinyModel();
    assert.equal(cli(['sign', 'key', model, '--private_key', priv, '--signature', join(dir, 's.sig')]).status, 0);
    assert.equal(cli(['verify', 'key', model, '--signature', join(dir, 's.sig'), '--public_key', pub]).status, 0);
  });

  test('the default signature is model.sig in the current directory', () => {
    const dir = tempDir();
    const { priv } = keys(dir);
    const model = tinyModel();
    const r = cli(['sign', 'key', model, '--private-key', priv], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'model.sig')));
  });

  test('--json gives a machine-readable result, on success and on mismatch', () => {
    const dir = tempDir();
    const { priv, pub } = keys(dir);
    const model = tinyModel();
    const sig = join(dir, 'model.sig');
    assert.equal(cli(['sign', 'key', model, '--private-key', priv, '--signature', sig, '--hash-algorithm', 'blake2b']).status, 0);
    const ok = JSON.parse(cli(['verify', 'key', model, '--signature', sig, '--public-key', pub, '--json']).stdout);
    assert.equal(ok.ok, true);
    assert.equal(ok.method, 'key');
    assert.equal(ok.filesCompared, 2);
    assert.equal(ok.serialization.hashType, 'blake2b');
    assert.match(ok.signer.keyHint, /^[0-9a-f]{64}$/);
    writeFileSync(join(model, 'weights.bin'), 'tampered');
    writeFileSync(join(model, 'new.txt'), 'n');
    const bad = cli(['verify', 'key', model, '--signature', sig, '--public-key', pub, '--json']);
    assert.equal(bad.status, 6);
    const j = JSON.parse(bad.stdout);
    assert.deepEqual([j.ok, j.code, j.diff], [false, 'CONTENT_MISMATCH', { changed: ['weights.bin'], missing: [], extra: ['new.txt'] }]);
  });

  test('a tampered model: exit 6 and one line saying which files changed, are missing, are new', () => {
    const dir = tempDir();
    const { priv, pub } = keys(dir);
    const model = makeModel({ 'a.bin': 'a', 'b.bin': 'b', 'c.bin': 'c' });
    const sig = join(dir, 'model.sig');
    assert.equal(cli(['sign', 'key', model, '--private-key', priv, '--signature', sig]).status, 0);
    writeFileSync(join(model, 'a.bin'), 'A');
    writeFileSync(join(model, 'd.bin'), 'd');
    rmSync(join(model, 'b.bin'));
    const r = cli(['verify', 'key', model, '--signature', sig, '--public-key', pub]);
    assert.equal(r.status, 6);
    oneCleanLine(r.stderr);
    assert.match(r.stderr, /^Verification failed with error: model differs from its signature: .*a\.bin.*b\.bin.*d\.bin/);
    assert.match(r.stderr, /changed: a\.bin/);
    assert.match(r.stderr, /missing: b\.bin/);
    assert.match(r.stderr, /extra: d\.bin/);
    // --ignore-unsigned-files tolerates the new file only: a.bin and b.bin still fail.
    assert.equal(cli(['verify', 'key', model, '--signature', sig, '--public-key', pub, '--ignore-unsigned-files']).status, 6);
  });

  test('exit codes per failure class, each with one clean line', () => {
    const dir = tempDir();
    const { priv, pub } = keys(dir);
    const model = tinyModel();
    const sig = join(dir, 'model.sig');
    assert.equal(cli(['sign', 'key', model, '--private-key', priv, '--signature', sig]).status, 0);

    const usage = cli(['verify', 'key', model, '--signature', sig]); // no --public-key
    assert.equal(usage.status, 2);
    oneCleanLine(usage.stderr);
    assert.match(usage.stderr, /--public-key/);
    assert.equal(cli(['sign', 'key', model, '--private-key', priv, '--bogus']).status, 2);
    assert.equal(cli(['frobnicate']).status, 2);

    const unreadableKey = cli(['verify', 'key', model, '--signature', sig, '--public-key', join(dir, 'missing.pub')]);
    assert.equal(unreadableKey.status, 3);
    oneCleanLine(unreadableKey.stderr);

    const missingModel = cli(['verify', 'key', join(dir, 'nope'), '--signature', sig, '--public-key', pub]);
    assert.equal(missingModel.status, 3);

    writeFileSync(join(dir, 'broken.sig'), '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", ');
    const broken = cli(['verify', 'key', model, '--signature', join(dir, 'broken.sig'), '--public-key', pub]);
    assert.equal(broken.status, 4);
    oneCleanLine(broken.stderr);

    const other = keys(tempDir());
    const wrongKey = cli(['verify', 'key', model, '--signature', sig, '--public-key', other.pub]);
    assert.equal(wrongKey.status, 5);
    oneCleanLine(wrongKey.stderr);

    const pkcs11 = cli(['sign', 'pkcs11-key', model, '--pkcs11-uri', 'pkcs11:token=x']);
    assert.equal(pkcs11.status, 7);
    oneCleanLine(pkcs11.stderr);
  });

  test('a failed signing writes no signature file', () => {
    const dir = tempDir();
    const model = tinyModel();
    writeFileSync(join(dir, 'rsa.pem'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = cli(['sign', 'key', model, '--private-key', join(dir, 'rsa.pem'), '--signature', join(dir, 'model.sig')]);
    assert.equal(r.status, 3);
    oneCleanLine(r.stderr);
    assert.deepEqual(readdirSync(dir), ['rsa.pem']);
  });

  test('digest prints the root digest as the reference does (spec §13.1 value)', () => {
    const r = cli(['digest', tinyModel()]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'sha256:ac42b02e7c1fec8802e86cd681999870e989fa31adb379038bdf6973caac81ad\n');
  });

  test('digest of the reference vector signme files (spec §13.3 value)', () => {
    const r = cli(['digest', join(MT_VECTORS, 'v1.0.0-certificate'), '--ignore-paths', join(MT_VECTORS, 'v1.0.0-certificate', 'model.sig')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226');
  });

  test('sign certificate / verify certificate with the shared PKI, fingerprints on request', () => {
    const dir = tempDir();
    const model = tinyModel();
    const sig = join(dir, 'model.sig');
    const s = cli(['sign', 'certificate', model, '--private-key', join(MT_KEYS, 'signing-key.pem'), '--signing-certificate', join(MT_KEYS, 'signing-key-cert.pem'), '--certificate-chain', join(MT_KEYS, 'int-ca-cert.pem'), '--signature', sig]);
    assert.equal(s.status, 0, s.stderr);
    const v = cli(['verify', 'certificate', model, '--signature', sig, '--certificate-chain', join(MT_KEYS, 'ca-cert.pem'), '--log-fingerprints']);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /Verification succeeded: signed by certificate .*intermediate-ca.*2 files verified \(certificate, sha256\)/);
    assert.match(v.stderr, /fingerprint \(SHA-256\): ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const wrongCa = cli(['verify', 'certificate', model, '--signature', sig, '--certificate-chain', join(MT_KEYS, 'int-ca-cert.pem')]);
    assert.equal(wrongCa.status, 5);
  });

  test('shards and blake3 on sign; verification reads them from the bundle', () => {
    const dir = tempDir();
    const { priv, pub } = keys(dir, 'secp384r1');
    const model = makeModel({ 'big.bin': Buffer.alloc(10_000, 1), 'small.txt': 's' });
    const sig = join(dir, 'model.sig');
    const s = cli(['sign', 'key', model, '--private-key', priv, '--signature', sig, '--shard-size', '4096', '--hash-algorithm', 'sha256', '--max-workers', '1']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /4 shards/);
    const v = cli(['verify', 'key', model, '--signature', sig, '--public-key', pub]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /4 shards verified/);
    assert.equal(cli(['sign', 'key', model, '--private-key', priv, '--signature', sig, '--hash-algorithm', 'md5']).status, 2);
  });

  test('reference vectors verify from the CLI, with the signature inside the model', () => {
    const cert = join(MT_VECTORS, 'v1.0.0-certificate');
    const r = cli(['verify', 'certificate', cert, '--signature', join(cert, 'model.sig'), '--certificate_chain', join(MT_KEYS, 'ca-cert.pem')]);
    assert.equal(r.status, 0, r.stderr);
    const key = join(MT_VECTORS, 'v1.0.0-elliptic-key');
    const k = cli(['verify', 'key', join(key, 'signme-1'), '--signature', join(key, 'model.sig'), '--public-key', join(MT_KEYS, 'signing-key-pub.pem')]);
    assert.equal(k.status, 0, k.stderr);
    assert.match(k.stderr, /warning: .*/); // legacy material: no key hint in a v1.0.0 bundle
  });
});

describe('oms-conformance adapter', () => {
  const adapter = join(COMPILED_SRC, 'cli', 'conformance.js');
  test('capabilities, sign-model and verify-model (key and certificate)', () => {
    const caps = JSON.parse(cli(['capabilities'], undefined, adapter).stdout);
    assert.ok(caps.hash_algorithms.includes('sha256'));
    const dir = tempDir();
    const model = tinyModel();
    const sig = join(dir, 'out.sig');
    const signed = cli(['sign-model', '--method', 'certificate', '--model-path', model, '--output-bundle', sig, '--private-key', join(MT_KEYS, 'signing-key.pem'), '--signing-cert', join(MT_KEYS, 'signing-key-cert.pem'), '--cert-chain', join(MT_KEYS, 'int-ca-cert.pem')], undefined, adapter);
    assert.equal(signed.status, 0, signed.stderr);
    assert.equal(cli(['verify-model', '--method', 'certificate', '--model-path', model, '--bundle', sig, '--cert-chain', join(MT_KEYS, 'ca-cert.pem')], undefined, adapter).status, 0);
    writeFileSync(join(model, 'extra'), 'x');
    assert.notEqual(cli(['verify-model', '--method', 'certificate', '--model-path', model, '--bundle', sig, '--cert-chain', join(MT_KEYS, 'ca-cert.pem')], undefined, adapter).status, 0);
    assert.equal(cli(['verify-model', '--method', 'certificate', '--model-path', model, '--bundle', sig, '--cert-chain', join(MT_KEYS, 'ca-cert.pem'), '--ignore-unsigned-files'], undefined, adapter).status, 0);
    const key = join(MT_VECTORS, 'v1.0.0-elliptic-key');
    assert.equal(cli(['verify-model', '--method', 'key', '--model-path', join(key, 'signme-1'), '--bundle', join(key, 'model.sig'), '--public-key', join(MT_KEYS, 'signing-key-pub.pem')], undefined, adapter).status, 0);
  });
});
