/**
 * The verification gate: a snapshot is checked against the trust policy before any runtime sees it.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verify, type VerifyOptions, type VerifyResult } from '../api.js';
import { isModelSealError } from '../errors.js';
import { describeDiff as describeManifestDiff } from '../manifest/compare.js';
import type { ManifestDiff } from '../manifest/types.js';
import type { SignerInfo } from '../verifying/verifier.js';
import { messageOf } from './errors.js';
import { matchPolicy, verifiersFor, type Policy, type PolicyEntry, type PolicyMode } from './policy.js';

export type VerifyFunction = (modelPath: string, options: VerifyOptions) => Promise<VerifyResult>;

export interface GateOutcome {
  /** verified: passed; warned: failed under mode "warn" (loaded anyway); skipped: mode "off". */
  result: 'verified' | 'warned' | 'skipped';
  mode: PolicyMode;
  entry: PolicyEntry;
  signer?: SignerInfo;
  /** Names of the verified files (relative POSIX), when verified. */
  verifiedFiles?: Set<string>;
  /** Whole-file digests from the verified manifest (method "files"), by name: lets a runtime re-check the bytes it is handed. */
  digests?: Map<string, { algorithm: string; digest: string }>;
  /** Why verification failed (warn mode). */
  reason?: string;
}

/** The gate's refusal: `reason` is the part after "failed signature verification: ". */
export class GateRefusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** "files differ from the signature (changed: a; missing: b; extra: c)": the library's one-line diff. */
export function describeDiff(diff: ManifestDiff): string {
  return `files differ from the signature (${describeManifestDiff(diff, '')})`;
}

function isDiff(d: unknown): d is ManifestDiff {
  return !!d && typeof d === 'object' && Array.isArray((d as ManifestDiff).changed);
}

export function describeVerifyError(e: unknown): string {
  if (isModelSealError(e)) {
    if (e.code === 'CONTENT_MISMATCH' && isDiff(e.details)) return describeDiff(e.details);
    return `${e.code}: ${messageOf(e)}`;
  }
  return messageOf(e);
}

/** The file name a manifest item covers (`path:start:end` for shards → `path`). */
export function fileOfItem(name: string, sharded: boolean): string {
  if (!sharded) return name;
  const m = /^(.*):\d+:\d+$/s.exec(name);
  return m ? m[1]! : name;
}

/** The policy entry that governs `name`; a model no entry covers is refused (fail closed). */
export function policyEntryFor(policy: Policy, name: string): PolicyEntry {
  const entry = matchPolicy(policy, name);
  if (!entry) throw new GateRefusal(`no trust policy entry matches the model name (refusing by default)`);
  return entry;
}

/**
 * Check the snapshot at `dir` against the policy entry that governs the model (policyEntryFor).
 * Throws GateRefusal when the model must not load; returns the outcome otherwise.
 */
export async function checkSnapshot(dir: string, entry: PolicyEntry, verifyFn: VerifyFunction = verify): Promise<GateOutcome> {
  if (entry.mode === 'off') return { result: 'skipped', mode: 'off', entry };
  try {
    const { signer, files, digests } = await verifyWithEntry(dir, entry, verifyFn);
    return { result: 'verified', mode: entry.mode, entry, signer, verifiedFiles: files, digests };
  } catch (e) {
    const reason = e instanceof GateRefusal ? e.reason : describeVerifyError(e);
    if (entry.mode === 'warn') return { result: 'warned', mode: 'warn', entry, reason };
    throw new GateRefusal(reason);
  }
}

async function verifyWithEntry(
  dir: string,
  entry: PolicyEntry,
  verifyFn: VerifyFunction,
): Promise<{ signer: SignerInfo; files: Set<string>; digests: Map<string, { algorithm: string; digest: string }> }> {
  const sigPath = join(dir, ...entry.signature.split('/'));
  const st = await lstat(sigPath).catch(() => undefined);
  if (!st || !st.isFile()) throw new GateRefusal(`signature file '${entry.signature}' not found in the model folder (unsigned model)`);
  const text = await readFile(sigPath, 'utf8');
  try {
    JSON.parse(text);
  } catch {
    throw new GateRefusal(`signature file '${entry.signature}' is not valid JSON`);
  }
  const candidates = await verifiersFor(entry);
  // The library checks the signature (and signer) before hashing, so untrusted signers cost no hashing.
  // A trusted signer with different content is final: no other verifier could make the bytes match.
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      // Hashing stays off the event loop: the server keeps answering while a model is verified.
      const result = await verifyFn(dir, { verifier: c.verifier, signaturePath: sigPath, bundle: text, useMainThread: false });
      const sharded = result.manifest.serialization.method === 'shards';
      const files = new Set(result.manifest.items.map((i) => fileOfItem(i.name, sharded)));
      const digests = new Map(sharded ? [] : result.manifest.items.map((i) => [i.name, { algorithm: result.manifest.serialization.hashType, digest: i.digest }] as const));
      return { signer: result.signer, files, digests };
    } catch (e) {
      if (isModelSealError(e) && e.code === 'CONTENT_MISMATCH') throw new GateRefusal(describeVerifyError(e));
      errors.push(`${c.label}: ${describeVerifyError(e)}`);
    }
  }
  throw new GateRefusal(
    candidates.length === 1 ? errorsFirst(errors) : `not signed by a trusted signer (${errors.join('; ')})`,
  );
}

function errorsFirst(errors: string[]): string {
  const e = errors[0] ?? 'no verifier';
  const i = e.indexOf(': ');
  return i >= 0 ? e.slice(i + 2) : e;
}

const NODE_HASH: Record<string, string> = { sha256: 'sha256', blake2b: 'blake2b512' };

/**
 * Defence in depth for runtimes that are handed bytes: recompute the digest of `bytes` and compare it
 * with the verified manifest's entry for `name`. Throws when they differ; returns false when it cannot
 * check (no digest known, sharded manifest, or an algorithm Node lacks such as blake3).
 */
export function checkVerifiedBytes(digests: Map<string, { algorithm: string; digest: string }> | undefined, name: string, bytes: Uint8Array): boolean {
  const d = digests?.get(name);
  const alg = d ? NODE_HASH[d.algorithm] : undefined;
  if (!d || !alg) return false;
  const actual = createHash(alg).update(bytes).digest('hex');
  if (actual !== d.digest) throw new Error(`'${name}' changed after verification (digest ${actual.slice(0, 16)}… ≠ signed ${d.digest.slice(0, 16)}…)`);
  return true;
}
