/** DSSE pre-authentication encoding (spec §3.1, §3.2) and the ECDSA hash per curve (spec §5.1). */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { fail } from '../errors.js';
import { IN_TOTO_PAYLOAD_TYPE, type DsseEnvelopeJSON } from './types.js';

/** `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in bytes. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const header = `DSSEv1 ${Buffer.byteLength(payloadType, 'utf8')} ${payloadType} ${body.length} `;
  return Buffer.concat([Buffer.from(header, 'utf8'), body]);
}

/** Python's repr() of a bytes object: b'...' (or b"..." when only ' occurs), with escapes. */
function pythonBytesRepr(body: Buffer): string {
  const quote = body.includes(0x27) && !body.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const byte of body) {
    if (byte === 0x5c) out += '\\\\';
    else if (byte === quote.charCodeAt(0)) out += `\\${quote}`;
    else if (byte === 0x09) out += '\\t';
    else if (byte === 0x0a) out += '\\n';
    else if (byte === 0x0d) out += '\\r';
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}${quote}`;
}

/**
 * The malformed PAE that reference v0.2.x signed for key/certificate bundles: upper-case marker
 * and the Python repr of the payload instead of its bytes. Verification fallback only.
 */
export function legacyPae(body: Buffer): Buffer {
  const type = IN_TOTO_PAYLOAD_TYPE;
  return Buffer.from(`DSSEV1 ${Buffer.byteLength(type)} ${type} ${body.length} ${pythonBytesRepr(body)}`, 'utf8');
}

const HASH_BY_CURVE: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
};

/** The ECDSA hash fixed by the key's curve; anything but EC P-256/P-384/P-521 is refused. */
export function ecdsaHashForKey(key: KeyObject): 'sha256' | 'sha384' | 'sha512' {
  const type = key.asymmetricKeyType;
  if (type !== 'ec') {
    throw fail('BAD_INPUT', `only EC P-256/P-384/P-521 keys are supported, got ${type === undefined ? 'a secret key' : `a key of type ${type.toUpperCase()}`}`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
  const hash = HASH_BY_CURVE[curve];
  if (!hash) throw fail('BAD_INPUT', `only EC P-256/P-384/P-521 keys are supported, got an EC key on curve ${curve}`);
  return hash;
}

/**
 * Check `signatures[0]` of an envelope with `key` (only the first is checked, as the reference):
 * over the standard PAE with `hash`, else over the v0.2 legacy PAE (spec §3.2) with any of
 * `legacyHashes`. Returns the payload and which form matched, or undefined when neither does.
 */
export function verifyEnvelopeSignature(
  envelope: DsseEnvelopeJSON,
  key: KeyObject,
  hash: string,
  legacyHashes: readonly string[],
): { payload: Buffer; legacy: boolean } | undefined {
  const payload = Buffer.from(envelope.payload, 'base64');
  const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
  if (verifySignature(hash, pae(envelope.payloadType, payload), key, sig)) return { payload, legacy: false };
  const compat = legacyPae(payload);
  if (legacyHashes.some((h) => verifySignature(h, compat, key, sig))) return { payload, legacy: true };
  return undefined;
}
