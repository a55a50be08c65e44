/** Loading EC keys from PEM text (spec §5.1) and the OMS key hint (spec §2.4). */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { fail } from '../errors.js';
import { ecdsaHashForKey } from '../bundle/dsse.js';

function pemText(input: string | Buffer, what: string): string {
  const text = Buffer.isBuffer(input) ? input.toString('utf8') : input;
  // Key files may carry human-readable text (certtool output) before the PEM block.
  const start = text.indexOf('-----BEGIN ');
  if (start < 0) throw fail('BAD_INPUT', `the ${what} is not PEM (no "-----BEGIN" line found)`);
  return text.slice(start);
}

function errorCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
}

/**
 * Loads a PEM private key (PKCS#8, encrypted PKCS#8 or SEC1 `EC PRIVATE KEY`) and requires
 * EC P-256/P-384/P-521. Errors are BAD_INPUT with one sentence.
 */
export function loadPrivateKey(pem: string | Buffer, password?: string): KeyObject {
  const text = pemText(pem, 'private key');
  let key: KeyObject;
  try {
    key = createPrivateKey(password === undefined ? { key: text, format: 'pem' } : { key: text, format: 'pem', passphrase: password });
  } catch (e) {
    // PKCS#8 says "ENCRYPTED PRIVATE KEY", SEC1 "Proc-Type: 4,ENCRYPTED"; Node's error codes vary by version.
    const encrypted = text.includes('ENCRYPTED') || errorCode(e) === 'ERR_MISSING_PASSPHRASE';
    if (encrypted && password === undefined) throw fail('BAD_INPUT', 'the private key is encrypted; a password is required', { cause: e });
    if (encrypted) throw fail('BAD_INPUT', 'cannot decrypt the private key: wrong password', { cause: e });
    if (!text.includes('PRIVATE KEY')) throw fail('BAD_INPUT', 'the private key file holds no private key (is it a public key or a certificate?)', { cause: e });
    throw fail('BAD_INPUT', 'the private key could not be read (expected a PEM EC private key)', { cause: e });
  }
  ecdsaHashForKey(key);
  return key;
}

/** Loads a PEM SubjectPublicKeyInfo public key and requires EC P-256/P-384/P-521. */
export function loadPublicKey(pem: string | Buffer): KeyObject {
  const text = pemText(pem, 'public key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (e) {
    throw fail('BAD_INPUT', 'the public key could not be read (expected a PEM public key)', { cause: e });
  }
  if (key.type !== 'public') throw fail('BAD_INPUT', 'expected a public key, got a private key');
  ecdsaHashForKey(key);
  return key;
}

/**
 * The OMS hint: lower-case hex SHA-256 of the key re-encoded as SPKI PEM text (64-column lines,
 * trailing newline), not of the DER nor of the key file. Accepts a private key too.
 */
export function keyHint(publicKey: KeyObject): string {
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  const pem = pub.export({ type: 'spki', format: 'pem' });
  return createHash('sha256').update(pem).digest('hex');
}
