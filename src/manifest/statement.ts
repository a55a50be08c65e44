/**
 * The in-toto Statement v1 carrying the OMS predicate (spec §4, §6): encoding for signing and a
 * strict decoder for verification. Signatures cover the payload bytes, so the decoder never
 * re-serializes; it only validates and converts.
 */
import { fail } from '../errors.js';
import { rootDigest } from './root.js';
import { HASH_ALGORITHMS } from './types.js';
import type { HashAlgorithm, Manifest, ManifestItem, Serialization } from './types.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
/** Reference v0.2.0 predicate: one subject per file, no root digest (spec §4.1). Read only. */
export const LEGACY_PREDICATE_TYPE = 'https://model_signing/Digests/v0.1';
/** The model name the reference gives to legacy statements. */
export const LEGACY_MODEL_NAME = 'compat-undefined-not-present';

/** Digest length in hex characters per predicate hash name. */
const DIGEST_HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, blake2b: 128, blake3: 64 };

/**
 * Serializes a manifest as the reference does (2-space indent, `": "`, non-ASCII as \uXXXX, fixed
 * key order), except that `shard_size` is an integer and shard labels equal `hash_type` (spec §9).
 */
export function encodeStatement(manifest: Manifest): Buffer {
  const s = manifest.serialization;
  const serialization: Record<string, unknown> = { method: s.method, hash_type: s.hashType };
  if (s.method === 'shards') {
    if (s.shardSize === undefined || !Number.isSafeInteger(s.shardSize) || s.shardSize <= 0) {
      throw fail('BAD_INPUT', `shard size must be a positive integer, got ${String(s.shardSize)}`);
    }
    serialization.shard_size = s.shardSize;
  }
  serialization.allow_symlinks = s.allowSymlinks;
  if (s.ignorePaths && s.ignorePaths.length > 0) serialization.ignore_paths = [...s.ignorePaths];
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: manifest.modelName, digest: { sha256: manifest.rootDigest } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization,
      resources: manifest.items.map((item) => ({ name: item.name, algorithm: item.algorithm, digest: item.digest })),
    },
  };
  // Escape per UTF-16 code unit, as Python's ensure_ascii does (astral chars become surrogate pairs).
  const text = JSON.stringify(statement, null, 2).replace(
    /[\u0080-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return Buffer.from(text, 'utf8');
}

function bad(message: string): never {
  throw fail('BAD_BUNDLE', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const HEX = /^[0-9a-fA-F]+$/;
const LOWER_HEX = /^[0-9a-f]+$/;
const SHARD_NAME = /^(.*):(0|[1-9]\d*):(0|[1-9]\d*)$/s;

/**
 * Rejects names that could escape the model root or cannot name a file (spec §7 f).
 * `.` is allowed: it is the reference's name for a single-file model.
 */
function checkSafePath(path: string, resourceName: string): void {
  if (path === '') bad(`resource name ${show(resourceName)} has an empty path`);
  if (path.startsWith('/')) bad(`resource name ${show(resourceName)} is an absolute path`);
  if (path.endsWith('/')) bad(`resource name ${show(resourceName)} ends with "/"`);
  if (path.split('/').includes('..')) bad(`resource name ${show(resourceName)} contains a ".." segment`);
  if (path.includes('\0')) bad(`resource name ${show(resourceName)} contains a NUL character`);
}

/** POSIX pure-path normalisation, as the reference applies before comparing (`./a` → `a`). */
export function normalizeResourceName(name: string): string {
  const absolute = name.startsWith('/');
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  const joined = parts.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

function checkDigest(value: unknown, where: string, hashType: HashAlgorithm): string {
  if (typeof value !== 'string' || !HEX.test(value)) bad(`${where} digest is not a hex string: ${show(value)}`);
  if (value.length !== DIGEST_HEX_LENGTH[hashType]) {
    bad(`${where} digest has ${value.length} hex digits, but ${hashType} digests have ${DIGEST_HEX_LENGTH[hashType]}`);
  }
  return value.toLowerCase();
}

function parseJsonObject(payload: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    bad('the signed payload is not valid JSON');
  }
  if (!isObject(parsed)) bad('the signed payload is not a JSON object');
  return parsed;
}

function decodeLegacy(statement: Record<string, unknown>): Manifest {
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length === 0) bad('the legacy statement lists no files (empty subject)');
  const items: ManifestItem[] = [];
  const seen = new Set<string>();
  subjects.forEach((subject, i) => {
    if (!isObject(subject)) bad(`subject[${i}] is not an object`);
    const name = subject.name;
    if (typeof name !== 'string') bad(`subject[${i}] has no name`);
    checkSafePath(name, name);
    const digestSet = subject.digest;
    if (!isObject(digestSet) || digestSet.sha256 === undefined) bad(`subject[${i}] (${show(name)}) has no sha256 digest`);
    const digest = checkDigest(digestSet.sha256, `subject ${show(name)}`, 'sha256');
    const key = normalizeResourceName(name);
    if (seen.has(key)) bad(`the statement lists ${show(name)} twice`);
    seen.add(key);
    items.push({ name, algorithm: 'sha256', digest });
  });
  return {
    modelName: LEGACY_MODEL_NAME,
    serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false },
    items,
    rootDigest: rootDigest(items),
    legacy: true,
  };
}

function decodeSerialization(value: unknown): Serialization {
  if (!isObject(value)) bad('the predicate has no serialization object');
  const method = value.method;
  if (method !== 'files' && method !== 'shards') bad(`Unknown serialization type ${show(method)} (expected "files" or "shards")`);
  const hashType = value.hash_type;
  if (typeof hashType !== 'string' || !(HASH_ALGORITHMS as readonly string[]).includes(hashType)) {
    bad(`unsupported hash_type ${show(hashType)} (expected one of ${HASH_ALGORITHMS.join(', ')})`);
  }
  const allowSymlinks = value.allow_symlinks;
  if (typeof allowSymlinks !== 'boolean') bad(`allow_symlinks must be a boolean, got ${show(allowSymlinks)}`);
  const serialization: Serialization = { method, hashType: hashType as HashAlgorithm, allowSymlinks };
  const shardSize = value.shard_size;
  if (method === 'shards') {
    // The reference writes a double (1000000000.0); JSON.parse already yields the integer.
    if (typeof shardSize !== 'number' || !Number.isSafeInteger(shardSize) || shardSize <= 0) {
      bad(`shard_size must be a positive integer for the shards method, got ${show(shardSize)}`);
    }
    serialization.shardSize = shardSize;
  } else if (shardSize !== undefined) {
    bad('shard_size must be absent for the files method');
  }
  const ignorePaths = value.ignore_paths;
  if (ignorePaths !== undefined) {
    if (!Array.isArray(ignorePaths) || !ignorePaths.every((p): p is string => typeof p === 'string')) {
      bad(`ignore_paths must be an array of strings, got ${show(ignorePaths)}`);
    }
    if (ignorePaths.length > 0) serialization.ignorePaths = [...ignorePaths];
  }
  return serialization;
}

function decodeResources(value: unknown, serialization: Serialization): ManifestItem[] {
  if (!Array.isArray(value)) bad('the predicate has no resources array');
  if (value.length === 0) bad('the signature lists no resources (empty manifest)');
  const { hashType, shardSize } = serialization;
  const labels = new Set<string>([hashType]);
  if (serialization.method === 'shards') labels.add(`${hashType}-sharded-${shardSize}`);
  const seen = new Set<string>();
  return value.map((resource: unknown, i): ManifestItem => {
    if (!isObject(resource)) bad(`resources[${i}] is not an object`);
    const { name, algorithm } = resource;
    if (typeof name !== 'string') bad(`resources[${i}] has no name`);
    if (serialization.method === 'shards') {
      const match = SHARD_NAME.exec(name);
      if (!match) bad(`shard name ${show(name)} is not of the form path:start:end`);
      checkSafePath(match[1]!, name);
      if (!(BigInt(match[2]!) < BigInt(match[3]!))) bad(`shard ${show(name)} has start >= end`);
    } else {
      checkSafePath(name, name);
    }
    if (typeof algorithm !== 'string' || !labels.has(algorithm)) {
      bad(`resource ${show(name)} has algorithm ${show(algorithm)}, expected ${[...labels].map((l) => `"${l}"`).join(' or ')}`);
    }
    const digest = checkDigest(resource.digest, `resource ${show(name)}`, hashType);
    const key = normalizeResourceName(name);
    if (seen.has(key)) bad(`the signature lists ${show(name)} twice`);
    seen.add(key);
    return { name, algorithm, digest };
  });
}

/**
 * Decodes and validates the DSSE payload (spec §4, §10.3 step 3). Every structural problem is a
 * BAD_BUNDLE error naming the offending field. The root digest is checked over the listed order.
 */
export function decodeStatement(payload: Buffer): Manifest {
  const statement = parseJsonObject(payload);
  if (statement._type !== STATEMENT_TYPE) {
    bad(`Expected in-toto ${STATEMENT_TYPE} payload, but got ${show(statement._type)}`);
  }
  const predicateType = statement.predicateType;
  if (predicateType === LEGACY_PREDICATE_TYPE) return decodeLegacy(statement);
  if (predicateType !== PREDICATE_TYPE) {
    bad(`Predicate type mismatch, expected ${PREDICATE_TYPE}, got ${show(predicateType)}`);
  }
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length !== 1) {
    bad(`Expected exactly one subject, got ${Array.isArray(subjects) ? subjects.length : show(subjects)}`);
  }
  const subject: unknown = subjects[0];
  if (!isObject(subject)) bad('the subject is not an object');
  if (typeof subject.name !== 'string' || subject.name === '') bad('the subject has no name');
  const digestSet = subject.digest;
  if (!isObject(digestSet) || digestSet.sha256 === undefined) bad('the subject has no sha256 digest');
  const subjectDigest = digestSet.sha256;
  if (typeof subjectDigest !== 'string' || subjectDigest.length !== 64 || !LOWER_HEX.test(subjectDigest)) {
    bad(`the subject's sha256 digest is not 64 lower-case hex digits: ${show(subjectDigest)}`);
  }
  const predicate = statement.predicate;
  if (!isObject(predicate)) bad('the statement has no predicate');
  const serialization = decodeSerialization(predicate.serialization);
  const items = decodeResources(predicate.resources, serialization);
  const computed = rootDigest(items);
  if (computed !== subjectDigest) {
    bad(`Manifest is inconsistent. Root digest is ${subjectDigest}, but the included resources hash to ${computed}`);
  }
  return { modelName: subject.name, serialization, items, rootDigest: subjectDigest };
}
