/**
 * The public API: hash(), sign(), verify(). The CLI and the server are thin layers over these.
 * (Implementation in progress: this file is owned by the integrator.)
 */
import type { BundleJSON } from './bundle/types.js';
import type { HashAlgorithm, Manifest, ManifestDiff, SerializationMethod } from './manifest/types.js';
import type { Signer } from './signing/signer.js';
import type { SignerInfo, VerificationMethod, Verifier } from './verifying/verifier.js';

export interface ModelOptions {
  /** Extra exclusions: absolute, or relative to the current directory (as the reference CLI). */
  ignorePaths?: string[];
  /** Exclude `.git`, `.gitattributes`, `.github`, `.gitignore` at the top level. Default true. */
  ignoreGitPaths?: boolean;
  /** Follow file symlinks instead of refusing them. Default false. */
  allowSymlinks?: boolean;
  /** Cap on hashing threads (the reference's max_workers). */
  maxWorkers?: number;
  /** Progress in bytes hashed so far, out of the total. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /** The signature file: excluded from hashing when it lies inside the model. */
  signaturePath?: string;
}

export interface HashModelOptions extends ModelOptions {
  /** Default 'files'. */
  method?: SerializationMethod;
  /** Default 'sha256'. */
  hashAlgorithm?: HashAlgorithm;
  /** Shard size in bytes for method 'shards'. Default 1_000_000_000. */
  shardSize?: number;
}

export interface SignOptions extends HashModelOptions {
  signer: Signer;
  /** Where to write the bundle (atomically: temp file, then rename). Not written when absent. */
  signaturePath?: string;
}

export interface SignResult {
  bundle: BundleJSON;
  manifest: Manifest;
  signaturePath?: string;
}

export interface VerifyOptions extends ModelOptions {
  verifier: Verifier;
  /** The bundle to check: read from `signaturePath` unless given here (object or JSON text). */
  bundle?: BundleJSON | string;
  /** Tolerate files on disk that the signature does not list (never missing or changed ones). */
  ignoreUnsignedFiles?: boolean;
}

export interface VerifyResult {
  method: VerificationMethod;
  signer: SignerInfo;
  /** The manifest the signature carries. */
  manifest: Manifest;
  /** How many signed resources were compared with the disk. */
  filesCompared: number;
  /** Always empty of changed/missing on success; `extra` lists tolerated unsigned files. */
  diff: ManifestDiff;
}

export declare function hash(modelPath: string, options?: HashModelOptions): Promise<Manifest>;
export declare function sign(modelPath: string, options: SignOptions): Promise<SignResult>;
/** Resolves only when the model verifies; otherwise throws a ModelSealError (CONTENT_MISMATCH carries the diff in `details`). */
export declare function verify(modelPath: string, options: VerifyOptions): Promise<VerifyResult>;
