import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { ecdsaHashForKey, legacyPae, pae } from '../src/bundle/dsse.js';
import { isModelSealError } from '../src/errors.js';

describe('pae', () => {
  it('builds DSSEv1 with byte lengths (§3.1)', () => {
    const body = Buffer.from('{"a":"\u00e9"}');
    assert.equal(pae('application/vnd.in-toto+json', body).toString('utf8'), 'DSSEv1 28 application/vnd.in-toto+json 10 {"a":"\u00e9"}');
    assert.equal(pae('', Buffer.alloc(0)).toString(), 'DSSEv1 0  0 ');
  });
});

describe('legacyPae (§3.2)', () => {
  it('matches the spec example', () => {
    const body = Buffer.from('{\n  "a": 1\n}');
    assert.equal(body.length, 12);
    assert.equal(legacyPae(body).toString('utf8'), 'DSSEV1 28 application/vnd.in-toto+json 12 b\'{\\n  "a": 1\\n}\'');
  });
  it('follows Python bytes repr: quotes, backslash, control and high bytes', () => {
    const repr = (b: Buffer) => legacyPae(b).toString('latin1').replace(/^DSSEV1 28 application\/vnd\.in-toto\+json \d+ /, '');
    assert.equal(repr(Buffer.from("it's")), `b"it's"`);
    assert.equal(repr(Buffer.from(`it's "x"`)), `b'it\\'s "x"'`);
    assert.equal(repr(Buffer.from('a\\b\t\r')), `b'a\\\\b\\t\\r'`);
    assert.equal(repr(Buffer.from([0x00, 0x1f, 0x7e, 0x7f, 0xc3, 0xa9])), `b'\\x00\\x1f~\\x7f\\xc3\\xa9'`);
    assert.ok(legacyPae(Buffer.from([0xc3, 0xa9])).toString().startsWith('DSSEV1 28 application/vnd.in-toto+json 2 '));
  });
});

describe('ecdsaHashForKey', () => {
  it('maps P-256/P-384/P-521 to SHA-256/384/512', () => {
    for (const [curve, hash] of [['prime256v1', 'sha256'], ['secp384r1', 'sha384'], ['secp521r1', 'sha512']] as const) {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
      assert.equal(ecdsaHashForKey(publicKey), hash);
      assert.equal(ecdsaHashForKey(privateKey), hash);
    }
  });
  it('refuses RSA, Ed25519 and other curves with BAD_INPUT', () => {
    const keys = [
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
    ];
    for (const key of keys) {
      assert.throws(() => ecdsaHashForKey(key), (e: unknown) => isModelSealError(e) && e.code === 'BAD_INPUT' && /only EC P-256\/P-384\/P-521 keys are supported, got/.test(e.message));
    }
  });
});
