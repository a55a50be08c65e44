/**
 * modelseal: sign ML models and verify them anywhere (OpenSSF Model Signing v1.0), and serve
 * only what verifies. This module is the public, typed API; the CLI and the server are thin
 * layers over it.
 *
 * ```ts
 * import { sign, verify, keySigner, keyVerifier } from 'modelseal';
 * await sign('./bert', { signer: keySigner({ privateKey: pem }), signaturePath: 'model.sig' });
 * const result = await verify('./bert', { verifier: keyVerifier({ publicKey: pubPem }), signaturePath: 'model.sig' });
 * ```
 */
export { hash, sign, verify, referenceDigest, writeFileAtomic, DEFAULT_SHARD_SIZE } from './api.js';
export type { ModelOptions, HashModelOptions, SignOptions, SignResult, VerifyOptions, VerifyResult } from './api.js';
export { ModelSealError, isModelSealError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { HashAlgorithm, Manifest, ManifestDiff, ManifestItem, Serialization, SerializationMethod } from './manifest/types.js';
export type { BundleJSON } from './bundle/types.js';
export type { Signer, SigningMethod } from './signing/signer.js';
export type { Verifier, VerificationMethod, SignerInfo, VerifiedSignature } from './verifying/verifier.js';
export { keySigner } from './signing/key.js';
export { certificateSigner } from './signing/certificate.js';
export { sigstoreSigner } from './signing/sigstore.js';
export type { SigstoreSignOptions } from './signing/sigstore.js';
export { keyVerifier } from './verifying/key.js';
export { certificateVerifier } from './verifying/certificate.js';
export { sigstoreVerifier, verifySigstoreFileBundle } from './verifying/sigstore.js';
export type { SigstoreVerifyOptions } from './verifying/sigstore.js';
export { walkModel, GIT_DEFAULT_EXCLUSIONS } from './model/walk.js';
export type { WalkOptions, WalkResult, ModelFile } from './model/walk.js';
