/**
 * The trust policy: which signer each model must carry, by model-name glob.
 *
 * ```json
 * { "entries": [
 *   { "models": "fraud-*", "publicKeys": ["keys/fraud.pub"] },
 *   { "models": ["ranker", "ranker-*"], "certificateAuthorities": ["ca.pem"], "signature": "model.sig" },
 *   { "models": "llm-*", "sigstore": [{ "identity": "ml@example.com", "issuer": "https://accounts.google.com" }] },
 *   { "models": "legacy-*", "mode": "warn", "publicKeys": ["old.pub"] },
 *   { "models": "scratch-*", "mode": "off" }
 * ] }
 * ```
 * First matching entry wins; no entry ⇒ the model is refused. `mode` defaults to `enforce`.
 * Paths are relative to the policy file.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fail } from '../errors.js';
import { certificateVerifier } from '../verifying/certificate.js';
import { keyVerifier } from '../verifying/key.js';
import type { Verifier } from '../verifying/verifier.js';

export type PolicyMode = 'enforce' | 'warn' | 'off';

export interface SigstoreRequirement {
  identity: string;
  issuer: string;
  /** Optional ClientTrustConfig path (private Sigstore deployments). */
  trustConfig?: string;
}

export interface PolicyEntry {
  /** Globs (`*`, `?`) matched against the whole model name. */
  models: string[];
  mode: PolicyMode;
  /** Absolute paths and their PEM text. */
  publicKeys: Array<{ path: string; pem: string }>;
  certificateAuthorities: Array<{ path: string; pem: string }>;
  sigstore: SigstoreRequirement[];
  /** Signature file relative to the model folder (default `model.sig`). */
  signature: string;
  /** Position in the file (for messages). */
  index: number;
}

export interface Policy {
  entries: PolicyEntry[];
  source: string;
}

export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.+()|{}[\]]/g, '\\$&');
  }
  return new RegExp(re + '$', 's');
}

function readPem(path: string, what: string): { path: string; pem: string } {
  try {
    return { path, pem: readFileSync(path, 'utf8') };
  } catch (e) {
    throw fail('BAD_INPUT', `policy: cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

function strings(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw fail('BAD_INPUT', `policy: ${where} must be a string or a list of strings`);
}

const ENTRY_KEYS = new Set(['models', 'mode', 'publicKeys', 'certificateAuthorities', 'sigstore', 'signature', 'comment']);

/** Parse a policy document (an object with `entries`, or a bare list of entries). Key files are read now. */
export function parsePolicy(doc: unknown, baseDir: string, source = '<policy>'): Policy {
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' ? (doc as Record<string, unknown>).entries : undefined;
  if (!Array.isArray(list)) throw fail('BAD_INPUT', `policy ${source}: expected {"entries": [...]}`);
  const entries = list.map((raw, index): PolicyEntry => {
    const where = `entry ${index + 1}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('BAD_INPUT', `policy: ${where} must be an object`);
    const o = raw as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!ENTRY_KEYS.has(k)) throw fail('BAD_INPUT', `policy: ${where} has an unknown field '${k}'`);
    const models = strings(o.models, `${where}.models`);
    if (models.length === 0) throw fail('BAD_INPUT', `policy: ${where} needs "models" (a name glob or a list of them)`);
    const mode = o.mode === undefined ? 'enforce' : o.mode;
    if (mode !== 'enforce' && mode !== 'warn' && mode !== 'off') throw fail('BAD_INPUT', `policy: ${where}.mode must be "enforce", "warn" or "off"`);
    const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
    const publicKeys = strings(o.publicKeys, `${where}.publicKeys`).map((p) => readPem(abs(p), 'public key'));
    const certificateAuthorities = strings(o.certificateAuthorities, `${where}.certificateAuthorities`).map((p) => readPem(abs(p), 'CA certificate'));
    let sigstore: SigstoreRequirement[] = [];
    if (o.sigstore !== undefined) {
      if (!Array.isArray(o.sigstore)) throw fail('BAD_INPUT', `policy: ${where}.sigstore must be a list of {identity, issuer}`);
      sigstore = o.sigstore.map((s, i) => {
        const r = s as Record<string, unknown>;
        if (!r || typeof r.identity !== 'string' || r.identity === '' || typeof r.issuer !== 'string' || r.issuer === '' || (r.trustConfig !== undefined && typeof r.trustConfig !== 'string')) {
          throw fail('BAD_INPUT', `policy: ${where}.sigstore[${i}] needs non-empty string "identity" and "issuer"`);
        }
        return { identity: r.identity, issuer: r.issuer, ...(r.trustConfig ? { trustConfig: abs(r.trustConfig as string) } : {}) };
      });
    }
    const signature = o.signature === undefined ? 'model.sig' : o.signature;
    if (typeof signature !== 'string' || signature === '' || isAbsolute(signature) || signature.split(/[/\\]/).includes('..')) {
      throw fail('BAD_INPUT', `policy: ${where}.signature must be a path inside the model folder`);
    }
    if (mode !== 'off' && publicKeys.length + certificateAuthorities.length + sigstore.length === 0) {
      throw fail('BAD_INPUT', `policy: ${where} (mode ${mode}) names no signer: give publicKeys, certificateAuthorities or sigstore`);
    }
    return { models, mode, publicKeys, certificateAuthorities, sigstore, signature, index };
  });
  return { entries, source };
}

export function loadPolicyFile(path: string): Policy {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw fail('BAD_INPUT', `cannot read policy file '${path}': ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw fail('BAD_INPUT', `policy file '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  return parsePolicy(doc, dirname(abs), abs);
}

/** The first entry whose glob matches the whole name, or undefined (⇒ refuse). */
export function matchPolicy(policy: Policy, modelName: string): PolicyEntry | undefined {
  return policy.entries.find((e) => e.models.some((g) => globToRegExp(g).test(modelName)));
}

/**
 * One verifier per trusted signer of the entry. The Sigstore module is imported only for entries
 * that name a Sigstore identity: its dependencies would add about half a second to every start.
 */
export async function verifiersFor(entry: PolicyEntry): Promise<Array<{ label: string; verifier: Verifier }>> {
  const out: Array<{ label: string; verifier: Verifier }> = [];
  for (const k of entry.publicKeys) out.push({ label: `public key ${k.path}`, verifier: keyVerifier({ publicKey: k.pem }) });
  if (entry.certificateAuthorities.length) {
    out.push({ label: 'certificate authorities', verifier: certificateVerifier({ trustAnchors: entry.certificateAuthorities.map((c) => c.pem) }) });
  }
  if (entry.sigstore.length) {
    const { sigstoreVerifier } = await import('../verifying/sigstore.js');
    for (const s of entry.sigstore) {
      out.push({
        label: `sigstore identity ${s.identity} (${s.issuer})`,
        verifier: sigstoreVerifier({ identity: s.identity, identityProvider: s.issuer, ...(s.trustConfig ? { trustConfig: s.trustConfig } : {}) }),
      });
    }
  }
  return out;
}
