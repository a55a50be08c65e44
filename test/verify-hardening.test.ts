/**
 * Verification edge cases found in review: what `ignoreUnsignedFiles` may read, and how names and
 * recorded exclusions behave on hostile input.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hash, sign, verify } from '../src/api.js';
import { encodeStatement } from '../src/manifest/statement.js';
import { serializeBundle } from '../src/bundle/bundle.js';
import { keySigner } from '../src/signing/key.js';
import { keyVerifier } from '../src/verifying/key.js';
import { rejectsCode } from './helpers/errors.js';
import { makeModel, tempDir } from './helpers/tmp.js';

function keyPair(): { priv: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { priv: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, pub: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

describe('ignoreUnsignedFiles reads signed files only the way a full walk would', () => {
  test('a signed file reached through a directory symlink (never descended by the walk) is refused', async () => {
    const { priv, pub } = keyPair();
    const model = makeModel({ 'sub/w.bin': 'weights', 'config.json': '{}' });
    const sig = join(tempDir(), 'model.sig');
    await sign(model, { signer: keySigner({ privateKey: priv }), signaturePath: sig });
    // Replace sub/ by a link to a folder elsewhere holding the same bytes.
    const elsewhere = makeModel({ 'w.bin': 'weights' });
    renameSync(join(model, 'sub'), join(tempDir(), 'old-sub'));
    symlinkSync(elsewhere, join(model, 'sub'));
    // The full walk refuses the link; with ignoreUnsignedFiles it must not be followed either.
    await rejectsCode(verify(model, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig }), 'BAD_INPUT', /symlink/);
    await assert.rejects(verify(model, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig, ignoreUnsignedFiles: true }));
  });

  test('with recorded allow_symlinks, a signed file linking outside the model is refused', async () => {
    const { priv, pub } = keyPair();
    const model = makeModel({ 'w.bin': 'weights', 'config.json': '{}' });
    const sig = join(tempDir(), 'model.sig');
    await sign(model, { signer: keySigner({ privateKey: priv }), signaturePath: sig, allowSymlinks: true });
    const outside = join(tempDir(), 'w.bin');
    writeFileSync(outside, 'weights');
    renameSync(join(model, 'w.bin'), join(tempDir(), 'old-w.bin'));
    symlinkSync(outside, join(model, 'w.bin'));
    await rejectsCode(verify(model, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig }), 'BAD_INPUT', /outside the model/);
    await assert.rejects(verify(model, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig, ignoreUnsignedFiles: true }));
  });
});

describe('ignoreUnsignedFiles with shards', () => {
  test('bytes appended to a signed file (new shards of a signed file) are not "unsigned files"', async () => {
    const { priv, pub } = keyPair();
    const model = makeModel({ 'w.bin': Buffer.alloc(16, 1), 'config.json': '{}' });
    const sig = join(tempDir(), 'model.sig');
    await sign(model, { signer: keySigner({ privateKey: priv }), signaturePath: sig, method: 'shards', shardSize: 8 });
    const v = (ignoreUnsignedFiles: boolean) => verify(model, { verifier: keyVerifier({ publicKey: pub }), signaturePath: sig, ignoreUnsignedFiles });
    // An unsigned new file is tolerated; the signed files are untouched.
    writeFileSync(join(model, 'notes.txt'), 'hello');
    assert.deepEqual((await v(true)).diff.extra, ['notes.txt:0:5']);
    // w.bin grows by a whole shard: its signed shards still match, but the file is not what was signed.
    writeFileSync(join(model, 'w.bin'), Buffer.concat([Buffer.alloc(16, 1), Buffer.from('evil payload')]));
    await rejectsCode(v(false), 'CONTENT_MISMATCH', /w\.bin:16:24/);
    await rejectsCode(v(true), 'CONTENT_MISMATCH', /w\.bin:16:24/);
  });
});

describe('recorded ignore_paths (signed, so trusted) only ever exclude paths inside the model', () => {
  /** A bundle for `model` whose serialization records `ignorePaths` exactly as given. */
  async function signedWithIgnorePaths(model: string, ignorePaths: string[], priv: string): Promise<string> {
    const manifest = await hash(model);
    const statement = encodeStatement({ ...manifest, serialization: { ...manifest.serialization, ignorePaths } });
    return serializeBundle(await keySigner({ privateKey: priv }).sign(statement));
  }

  test('empty, ".", "/", ".." and escaping entries exclude nothing: an added file is still found', async () => {
    const { priv, pub } = keyPair();
    const model = makeModel({ 'w.bin': 'weights', 'sub/x.bin': 'x' });
    const odd = ['', '.', './', '/', '/sub', '..', '../model', 'sub/..', '/etc', `${model}/sub`];
    const bundle = await signedWithIgnorePaths(model, odd, priv);
    const v = () => verify(model, { verifier: keyVerifier({ publicKey: pub }), bundle });
    assert.equal((await v()).filesCompared, 2);
    writeFileSync(join(model, 'planted.js'), 'evil');
    writeFileSync(join(model, 'sub', 'planted.js'), 'evil');
    await rejectsCode(v(), 'CONTENT_MISMATCH', /extra: planted\.js, sub\/planted\.js/);
  });

  test('an entry naming a signed file cannot skip checking it: the file is reported missing', async () => {
    const { priv, pub } = keyPair();
    const model = makeModel({ 'w.bin': 'weights', 'sub/x.bin': 'x' });
    for (const entry of ['w.bin', './w.bin', 'sub', 'sub/']) {
      const bundle = await signedWithIgnorePaths(model, [entry], priv);
      const missing = entry.startsWith('sub') ? /missing: sub\/x\.bin/ : /missing: w\.bin/;
      for (const ignoreUnsignedFiles of [false, true]) {
        await rejectsCode(verify(model, { verifier: keyVerifier({ publicKey: pub }), bundle, ignoreUnsignedFiles }), 'CONTENT_MISMATCH', missing);
      }
    }
  });
});
