/** `key` signing (spec §2.3, §3): ECDSA over the PAE with the curve's hash, DER signature. */
import { sign } from 'node:crypto';
import { dsseBundle } from '../bundle/bundle.js';
import { ecdsaHashForKey, pae } from '../bundle/dsse.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../bundle/types.js';
import type { BundleJSON } from '../bundle/types.js';
import { keyHint, loadPrivateKey } from './ec-keys.js';
import type { Signer } from './signer.js';

export interface KeySignerOptions {
  /** PEM text of the private key (not a path). */
  privateKey: string | Buffer;
  password?: string;
}

/** Loads the key now, so a bad key fails before any hashing. */
export function keySigner(options: KeySignerOptions): Signer {
  const privateKey = loadPrivateKey(options.privateKey, options.password);
  const hash = ecdsaHashForKey(privateKey);
  const hint = keyHint(privateKey);
  return {
    method: 'key',
    async sign(statement: Buffer): Promise<BundleJSON> {
      const sig = sign(hash, pae(IN_TOTO_PAYLOAD_TYPE, statement), privateKey);
      return dsseBundle(statement, sig, { publicKey: { hint } });
    },
  };
}
