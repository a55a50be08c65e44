/**
 * The public API: hash(), sign(), verify(). The CLI and the server are thin layers over these.
 *
 * sign:   folder ─walk─▶ files ─hash─▶ Manifest ─encode─▶ Statement ─Signer─▶ Bundle (written atomically)
 * verify: Bundle ─Verifier─▶ Statement ─decode─▶ expected Manifest ┐
 *         folder ─walk (recorded serialization)─▶ hash ─▶ actual ──┴─▶ compare ─▶ VerifyResult | error
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { checkMaterialForMethod, parseBundle, serializeBundle } from './bundle/bundle.js';
import type { BundleJSON } from './bundle/types.js';
import { fail, fsErrorText } from './errors.js';
import { hashJobs } from './hashing/engine.js';
import type { HashJob } from './hashing/types.js';
import { compareManifests, describeDiff } from './manifest/compare.js';
import { compareCodePoint, compareReference } from './manifest/order.js';
import { rootDigest } from './manifest/root.js';
import { decodeStatement, encodeStatement, normalizeResourceName } from './manifest/statement.js';
import type { HashAlgorithm, Manifest, ManifestDiff, ManifestItem, Serialization, SerializationMethod } from './manifest/types.js';
import { HASH_ALGORITHMS } from './manifest/types.js';
import { lookupModelFiles, modelNameOf, walkModel, type ModelFile, type WalkOptions } from './model/walk.js';
import type { Signer } from './signing/signer.js';
import type { SignerInfo, VerificationMethod, Verifier } from './verifying/verifier.js';

export const DEFAULT_SHARD_SIZE = 1_000_000_000;

export interface ModelOptions {
  /** Extra exclusions: absolute, or relative to the current directory (as the reference CLI). */
  ignorePaths?: string[];
  /** Exclude `.git`, `.gitattributes`, `.github`, `.gitignore` at the top level. Default true. */
  ignoreGitPaths?: boolean;
  /** Follow file symlinks (inside the model) instead of refusing them. Default false. */
  allowSymlinks?: boolean;
  /** Cap on hashing threads (the reference's max_workers). */
  maxWorkers?: number;
  /**
   * Whether the calling thread hashes too (default true: fastest for a CLI). A server passes false
   * so its event loop keeps answering requests while a model is verified: all hashing then runs
   * in worker threads.
   */
  useMainThread?: boolean;
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
  /** Always empty of changed/missing on success; `extra` lists unsigned files tolerated by ignoreUnsignedFiles. */
  diff: ManifestDiff;
}

/** How resources are hashed: from the caller's options when signing, from the bundle when verifying. */
interface HashSettings {
  method: SerializationMethod;
  algorithm: HashAlgorithm;
  /** Present iff method is 'shards'. */
  shardSize?: number;
}

function checkHashOptions(o: HashModelOptions): HashSettings {
  const method = o.method ?? 'files';
  if (method !== 'files' && method !== 'shards') throw fail('USAGE', `unknown serialization method '${String(method)}' (files or shards)`);
  const algorithm = o.hashAlgorithm ?? 'sha256';
  if (!HASH_ALGORITHMS.includes(algorithm)) {
    throw fail('USAGE', `unknown hash algorithm '${String(algorithm)}' (${HASH_ALGORITHMS.join(', ')})`);
  }
  if (method === 'files') return { method, algorithm };
  const shardSize = o.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0) throw fail('USAGE', `shard size must be a positive integer, got ${shardSize}`);
  return { method, algorithm, shardSize };
}

/** The hashing jobs and the manifest names they produce, in the same order. */
function jobsFor(files: ModelFile[], method: SerializationMethod, shardSize?: number): { jobs: HashJob[]; names: string[] } {
  const jobs: HashJob[] = [];
  const names: string[] = [];
  for (const f of files) {
    if (method === 'files') {
      jobs.push({ path: f.path, start: 0, end: f.size });
      names.push(f.name);
      continue;
    }
    // Shards: [start, end) ranges of shardSize; an empty file produces none (as the reference).
    for (let start = 0; start < f.size; start += shardSize!) {
      const end = Math.min(start + shardSize!, f.size);
      jobs.push({ path: f.path, start, end });
      names.push(`${f.name}:${start}:${end}`);
    }
  }
  return { jobs, names };
}

async function hashFiles(
  files: ModelFile[],
  s: HashSettings,
  o: ModelOptions,
): Promise<ManifestItem[]> {
  const { jobs, names } = jobsFor(files, s.method, s.shardSize);
  const total = jobs.reduce((n, j) => n + (j.end - j.start), 0);
  let done = 0;
  const onProgress = o.onProgress
    ? (bytes: number) => {
        done += bytes;
        o.onProgress!(done, total);
      }
    : undefined;
  const digests = await hashJobs(jobs, {
    algorithm: s.algorithm,
    ...(o.maxWorkers !== undefined ? { maxWorkers: o.maxWorkers } : {}),
    ...(o.useMainThread !== undefined ? { useMainThread: o.useMainThread } : {}),
    ...(onProgress ? { onProgress } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  // Jobs cover the sizes seen when the model was listed: a file that grew meanwhile would have
  // bytes nobody hashed, so check that every size still holds now that hashing is done.
  for (const f of files) {
    const now = statSync(f.path, { throwIfNoEntry: false });
    if (!now || now.size !== f.size) {
      throw fail('BAD_INPUT', `cannot use '${f.name}': it changed while it was being hashed (size ${f.size} -> ${now ? now.size : 'gone'})`);
    }
  }
  return names.map((name, i) => ({ name, algorithm: s.algorithm, digest: digests[i]! }));
}

function walkOptions(o: ModelOptions, allowSymlinks: boolean, recorded?: string[]): WalkOptions {
  return {
    ...(o.ignorePaths ? { ignorePaths: o.ignorePaths } : {}),
    ignoreGitPaths: o.ignoreGitPaths !== false,
    allowSymlinks,
    ...(o.signaturePath ? { signaturePath: o.signaturePath } : {}),
    ...(recorded ? { recordedIgnorePaths: recorded } : {}),
  };
}

/**
 * Hash a model into the manifest a signature would carry (resources in code-point order).
 * Throws BAD_INPUT for an empty model (after exclusions), refused symlinks and unreadable files.
 */
export async function hash(modelPath: string, options: HashModelOptions = {}): Promise<Manifest> {
  const s = checkHashOptions(options);
  const allowSymlinks = options.allowSymlinks === true;
  const walked = walkModel(modelPath, walkOptions(options, allowSymlinks));
  if (walked.files.length === 0) throw fail('BAD_INPUT', `model '${modelPath}' has no files to sign (after exclusions)`);
  const items = await hashFiles(walked.files, s, options);
  items.sort((a, b) => compareCodePoint(a.name, b.name));
  if (items.length === 0) {
    // Shards of a model made only of empty files: nothing would be covered by the signature.
    throw fail('BAD_INPUT', `model '${modelPath}' has only empty files: the shards method would sign nothing`);
  }
  const serialization: Serialization = {
    method: s.method,
    hashType: s.algorithm,
    ...(s.shardSize !== undefined ? { shardSize: s.shardSize } : {}),
    allowSymlinks,
    ...(walked.excluded.length ? { ignorePaths: walked.excluded } : {}),
  };
  return { modelName: modelNameOf(modelPath), serialization, items, rootDigest: rootDigest(items) };
}

/**
 * The root digest the reference's `digest` command prints (files, sha256, the reference's
 * path-component order), as `sha256:<hex>`. Like the reference it excludes no signature file.
 */
export async function referenceDigest(modelPath: string, options: ModelOptions = {}): Promise<string> {
  const { signaturePath: _ignored, ...rest } = options;
  const manifest = await hash(modelPath, { ...rest, method: 'files', hashAlgorithm: 'sha256' });
  const items = [...manifest.items].sort((a, b) => compareReference(a.name, b.name));
  return `sha256:${rootDigest(items)}`;
}

/** Write a file so that readers see either nothing or the whole of it: temp file, fsync, rename. */
export function writeFileAtomic(path: string, data: string | Buffer): void {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw fail('BAD_INPUT', `cannot write signature '${path}': ${fsErrorText(e)}`);
  }
}

/** Hash the model, sign the statement, and (with `signaturePath`) write the bundle atomically. */
export async function sign(modelPath: string, options: SignOptions): Promise<SignResult> {
  if (options.signaturePath) {
    // Fail before hashing (which can take minutes) if the signature cannot be written there.
    const dir = dirname(resolve(options.signaturePath));
    let st;
    try {
      st = statSync(dir);
    } catch {
      throw fail('BAD_INPUT', `cannot write signature '${options.signaturePath}': directory '${dir}' does not exist`);
    }
    if (!st.isDirectory()) throw fail('BAD_INPUT', `cannot write signature '${options.signaturePath}': '${dir}' is not a directory`);
  }
  const manifest = await hash(modelPath, options);
  const bundle = await options.signer.sign(encodeStatement(manifest));
  if (options.signaturePath) writeFileAtomic(options.signaturePath, serializeBundle(bundle));
  return { bundle, manifest, ...(options.signaturePath ? { signaturePath: options.signaturePath } : {}) };
}

function loadBundle(options: VerifyOptions): BundleJSON {
  if (options.bundle !== undefined) return parseBundle(options.bundle);
  if (!options.signaturePath) throw fail('USAGE', 'no signature given: pass signaturePath or bundle');
  let text: Buffer;
  try {
    text = readFileSync(options.signaturePath);
  } catch (e) {
    throw fail('BAD_BUNDLE', `cannot read signature '${options.signaturePath}': ${fsErrorText(e)}`);
  }
  return parseBundle(text);
}

/** The file a resource covers: the name itself, or `path` for a shard `path:start:end`. */
function fileOfResource(name: string, method: SerializationMethod): string {
  const file = method === 'shards' ? /^(.*):\d+:\d+$/s.exec(name)?.[1] ?? name : name;
  return normalizeResourceName(file);
}

/**
 * ignoreUnsignedFiles tolerates unsigned *files*. A shard of a signed file that the signature
 * does not list is not one: it is the signed file grown (bytes appended past its signed shards).
 */
function extraPartsOfSignedFiles(extra: readonly string[], signed: readonly ManifestItem[], method: SerializationMethod): string[] {
  if (method !== 'shards') return [];
  const signedFiles = new Set(signed.map((i) => fileOfResource(i.name, method)));
  return extra.filter((name) => signedFiles.has(fileOfResource(name, method)));
}

/**
 * Verify a model against its signature. Resolves only when the signature is valid, made by the
 * trusted signer, and the model matches it; throws a ModelSealError otherwise
 * (CONTENT_MISMATCH carries the ManifestDiff in `details`).
 */
export async function verify(modelPath: string, options: VerifyOptions): Promise<VerifyResult> {
  const bundle = loadBundle(options);
  if (bundle.messageSignature) return verifyPlainSigstoreBundle(modelPath, bundle, options);
  // The built-in verifiers parse and check the material again: they are public and may be called
  // alone. Checking here too keeps the material-for-method rule for any other Verifier; both
  // checks are structural walks of a small JSON object, nothing beside the hashing.
  checkMaterialForMethod(bundle, options.verifier.method);
  const verified = await options.verifier.verify(bundle);
  const expected = decodeStatement(verified.payload);
  const ser = expected.serialization;
  const s: HashSettings = { method: ser.method, algorithm: ser.hashType, ...(ser.shardSize !== undefined ? { shardSize: ser.shardSize } : {}) };
  const wo = walkOptions(options, ser.allowSymlinks, ser.ignorePaths);

  let files: ModelFile[];
  let singleFile: boolean;
  if (options.ignoreUnsignedFiles && s.method === 'files') {
    // As the reference, hash only the signed names and never enumerate the rest, so stray
    // unsigned files (even symlinks) cannot make verification fail. Each name is looked up under
    // the walk's rules, so this path reads nothing a full walk would refuse.
    singleFile = statSync(modelPath, { throwIfNoEntry: false })?.isFile() === true;
    files = singleFile ? walkModel(modelPath, wo).files : lookupModelFiles(modelPath, expected.items.map((i) => i.name), wo);
  } else {
    const walked = walkModel(modelPath, wo);
    files = walked.files;
    singleFile = walked.singleFile;
  }
  if (singleFile && expected.items.length === 1 && expected.items[0]!.name === '.' && files.length === 1) {
    // The reference names a single-file model '.', the spec its basename: accept either.
    files = [{ ...files[0]!, name: '.' }];
  }
  const actual = await hashFiles(files, s, options);
  const diff = compareManifests(expected.items, actual);
  const refused = options.ignoreUnsignedFiles ? extraPartsOfSignedFiles(diff.extra, expected.items, s.method) : diff.extra;
  if (diff.changed.length || diff.missing.length || refused.length) {
    throw fail('CONTENT_MISMATCH', `model differs from its signature: ${describeDiff(diff, expected.modelName)}`, { details: diff });
  }
  return {
    method: options.verifier.method,
    signer: verified.signer,
    manifest: expected,
    filesCompared: expected.items.length,
    diff,
  };
}

/**
 * A plain Sigstore bundle made by the Sigstore CLIs over a single file (`sigstore sign
 * model.joblib`): a message signature over the file's SHA-256, checked by the Sigstore verifier.
 */
async function verifyPlainSigstoreBundle(modelPath: string, bundle: BundleJSON, options: VerifyOptions): Promise<VerifyResult> {
  if (!options.verifier.verifyFileBundle) {
    throw fail('BAD_BUNDLE', 'this is a plain Sigstore bundle over a single file; verify it with `verify sigstore`');
  }
  const walked = walkModel(modelPath, { ignoreGitPaths: false, allowSymlinks: options.allowSymlinks === true });
  if (!walked.singleFile) throw fail('BAD_BUNDLE', 'a plain Sigstore bundle signs a single file, but the model is a directory');
  const file = walked.files[0]!;
  // The same hashing path as every model (thread options, progress, abort, the size re-check).
  const [item] = await hashFiles([file], { method: 'files', algorithm: 'sha256' }, options);
  const signer = await options.verifier.verifyFileBundle(bundle, { path: file.path, sha256: Buffer.from(item!.digest, 'hex') });
  return {
    method: options.verifier.method,
    signer,
    manifest: {
      modelName: file.name,
      serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false },
      items: [item!],
      rootDigest: rootDigest([item!]),
    },
    filesCompared: 1,
    diff: { changed: [], missing: [], extra: [] },
  };
}
