import type { BundleJSON } from '../bundle/types.js';

export type SigningMethod = 'key' | 'certificate' | 'sigstore' | 'pkcs11-key' | 'pkcs11-certificate';

/**
 * One implementation per signing method. A signer receives the exact in-toto statement bytes
 * (the DSSE payload) and returns the complete bundle. Adding a method = one file + registration.
 */
export interface Signer {
  readonly method: SigningMethod;
  sign(statement: Buffer): Promise<BundleJSON>;
}
