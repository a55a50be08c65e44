/**
 * `certificate` signing (spec §2.3, §5.1): like `key`, but the bundle carries the signing
 * certificate followed by the chain certificates, in the order given.
 */
import { X509Certificate, createPublicKey, sign } from 'node:crypto';
import { dsseBundle } from '../bundle/bundle.js';
import { ecdsaHashForKey, pae } from '../bundle/dsse.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../bundle/types.js';
import type { BundleJSON } from '../bundle/types.js';
import { fail } from '../errors.js';
import { loadPrivateKey } from './ec-keys.js';
import type { Signer } from './signer.js';

export interface CertificateSignerOptions {
  /** PEM text of the private key (not a path). */
  privateKey: string | Buffer;
  /** PEM text of the signing (leaf) certificate. */
  signingCertificate: string | Buffer;
  /** PEM texts; each may hold several certificates. Written after the leaf in this order. */
  certificateChain?: (string | Buffer)[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Every certificate in a PEM text, in order (text around the blocks is ignored). Throws
 * BAD_INPUT naming `what` when there is none or one does not parse.
 */
export function parsePemCertificates(input: string | Buffer, what: string): X509Certificate[] {
  const text = Buffer.isBuffer(input) ? input.toString('utf8') : input;
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw fail('BAD_INPUT', `the ${what} holds no PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw fail('BAD_INPUT', `certificate ${i + 1} of the ${what} could not be parsed`, { cause: e });
    }
  });
}

export function certificateSigner(options: CertificateSignerOptions): Signer {
  const privateKey = loadPrivateKey(options.privateKey);
  const hash = ecdsaHashForKey(privateKey);
  const leafCerts = parsePemCertificates(options.signingCertificate, 'signing certificate');
  if (leafCerts.length !== 1) throw fail('BAD_INPUT', `the signing certificate file must hold exactly one certificate, it holds ${leafCerts.length}`);
  const leaf = leafCerts[0]!;
  const ownPublic = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(ownPublic)) {
    throw fail('BAD_INPUT', "the signing certificate's public key does not match the private key");
  }
  const chain = (options.certificateChain ?? []).flatMap((pem, i) => parsePemCertificates(pem, `certificate chain file ${i + 1}`));
  const certificates = [leaf, ...chain].map((cert) => ({ rawBytes: cert.raw.toString('base64') }));
  return {
    method: 'certificate',
    async sign(statement: Buffer): Promise<BundleJSON> {
      const sig = sign(hash, pae(IN_TOTO_PAYLOAD_TYPE, statement), privateKey);
      return dsseBundle(statement, sig, { x509CertificateChain: { certificates } });
    },
  };
}
