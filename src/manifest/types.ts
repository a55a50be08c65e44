/** Hash algorithms the OMS predicate can name (`hash_type`). `blake2b` is BLAKE2b-512. */
export type HashAlgorithm = 'sha256' | 'blake2b' | 'blake3';
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'blake2b', 'blake3'];

export type SerializationMethod = 'files' | 'shards';

/** The predicate's `serialization` object, in our own (camelCase) shape. */
export interface Serialization {
  method: SerializationMethod;
  hashType: HashAlgorithm;
  /** Present iff method === 'shards'; a positive integer. */
  shardSize?: number;
  allowSymlinks: boolean;
  /** Excluded roots relative to the model path (recorded so verification excludes them too). */
  ignorePaths?: string[];
}

/** One resource of the manifest: a file (`files`) or a byte range `path:start:end` (`shards`). */
export interface ManifestItem {
  /** Canonical relative POSIX path, or `path:start:end` for shards. */
  name: string;
  /** The label written in the bundle: normally `hashType` (we also read `<h>-sharded-<N>`). */
  algorithm: string;
  /** Lower-case hex digest. */
  digest: string;
}

/** What a signature says about a model, decoded from (or encoded to) the in-toto statement. */
export interface Manifest {
  /** subject[0].name; informational, never verified. */
  modelName: string;
  serialization: Serialization;
  /** In the order listed (signing: UTF-8 byte order of names; verifying: as the bundle gives it). */
  items: ManifestItem[];
  /** subject[0].digest.sha256 (lower-case hex); for legacy v0.1 predicates, computed. */
  rootDigest: string;
  /** true when decoded from the legacy `Digests/v0.1` predicate. */
  legacy?: boolean;
}

/** The result of comparing what was signed with what is on disk. All lists sorted. */
export interface ManifestDiff {
  /** Names present in both but with a different digest or algorithm label. */
  changed: string[];
  /** Names in the signature but not (or excluded) on disk. */
  missing: string[];
  /** Names on disk but not in the signature (tolerated with ignoreUnsignedFiles). */
  extra: string[];
}
