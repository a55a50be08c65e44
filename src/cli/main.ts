#!/usr/bin/env node
/**
 * The `modelseal` command: a thin layer over the library (src/api.ts). It parses flags the way the
 * reference `model_signing` does, prints one line per outcome (or JSON with --json), shows a
 * progress bar on a terminal, and maps error codes to documented exit codes (exit-codes.ts).
 */
import { referenceDigest, sign, verify, type ModelOptions, type SignResult, type VerifyResult } from '../api.js';
import { fail, isModelSealError, type ModelSealError } from '../errors.js';
import type { ManifestDiff } from '../manifest/types.js';
import { certificateSigner } from '../signing/certificate.js';
import { keySigner } from '../signing/key.js';
import type { Signer } from '../signing/signer.js';
import type { SigstoreSignOptions } from '../signing/sigstore.js';
import { certificateVerifier } from '../verifying/certificate.js';
import { keyVerifier } from '../verifying/key.js';
import type { SignerInfo, Verifier } from '../verifying/verifier.js';
import { flag, helpFor, list, onOff, parseCommandLine, positiveInt, required, str, type OptionSpecs, type Parsed } from './args.js';
import { EXIT, EXIT_FOR_CODE } from './exit-codes.js';
import { readInputFile } from './input-file.js';
import { progressBar } from './progress.js';
import { isEntryPoint, runAsProgram } from './program.js';
import { VERSION } from './version.js';

const SIGN_METHODS = ['sigstore', 'key', 'certificate', 'pkcs11-key', 'pkcs11-certificate'] as const;
const VERIFY_METHODS = ['sigstore', 'key', 'certificate'] as const;

const MODEL_OPTIONS: OptionSpecs = {
  'ignore-paths': { type: 'string', multiple: true, value: 'PATH', help: 'exclude a file or folder (absolute, or relative to the current directory)' },
  'ignore-git-paths': { type: 'boolean', help: 'exclude .git, .gitattributes, .github, .gitignore at the top level (default)' },
  'no-ignore-git-paths': { type: 'boolean', help: '' },
  'allow-symlinks': { type: 'boolean', help: 'follow file symlinks inside the model instead of refusing them' },
  'max-workers': { type: 'string', value: 'N', help: 'cap on hashing threads (default: all cores)' },
  json: { type: 'boolean', help: 'print a machine-readable result on stdout' },
  'log-level': { type: 'string', value: 'LEVEL', help: 'accepted for compatibility with the reference' },
  help: { type: 'boolean', help: 'show this help' },
};

const SIGNATURE_OPTION: OptionSpecs = {
  signature: { type: 'string', value: 'FILE', help: 'the signature bundle (sign: default model.sig)' },
};

const SIGN_HASH_OPTIONS: OptionSpecs = {
  'hash-algorithm': { type: 'string', value: 'ALG', help: 'sha256 (default), blake2b or blake3' },
  'shard-size': { type: 'string', value: 'BYTES', help: 'hash files in shards of this size (0 or absent: whole files)' },
};

const SIGSTORE_SIGN_OPTIONS: OptionSpecs = {
  'use-staging': { type: 'boolean', help: "use Sigstore's staging instance" },
  'trust-config': { type: 'string', value: 'FILE', help: 'a Sigstore ClientTrustConfig (trusted root + signing config) for a private Sigstore' },
  'use-ambient-credentials': { type: 'boolean', help: 'use the CI workload identity (GitHub Actions, GitLab CI, Buildkite, Google Cloud)' },
  'identity-token': { type: 'string', value: 'TOKEN', help: 'an OIDC identity token to sign with' },
  'oauth-force-oob': { type: 'boolean', help: 'print the login URL and read the code from the terminal instead of a browser redirect' },
  'client-id': { type: 'string', value: 'ID', help: 'OAuth client id (default sigstore)' },
  'client-secret': { type: 'string', value: 'SECRET', help: 'OAuth client secret (default empty)' },
};

const COMMAND_OPTIONS: Record<string, OptionSpecs> = {
  'sign sigstore': { ...SIGNATURE_OPTION, ...SIGN_HASH_OPTIONS, ...SIGSTORE_SIGN_OPTIONS, ...MODEL_OPTIONS },
  'sign key': {
    ...SIGNATURE_OPTION,
    'private-key': { type: 'string', value: 'FILE', help: 'EC private key (PEM: PKCS#8 or SEC1; P-256, P-384 or P-521) (required)' },
    password: { type: 'string', value: 'PASSWORD', help: 'password of an encrypted private key' },
    ...SIGN_HASH_OPTIONS,
    ...MODEL_OPTIONS,
  },
  'sign certificate': {
    ...SIGNATURE_OPTION,
    'private-key': { type: 'string', value: 'FILE', help: 'EC private key of the signing certificate (required)' },
    'signing-certificate': { type: 'string', value: 'FILE', help: 'the signing (leaf) certificate, PEM (required)' },
    'certificate-chain': { type: 'string', multiple: true, value: 'FILE', help: 'intermediate certificates to include, PEM' },
    ...SIGN_HASH_OPTIONS,
    ...MODEL_OPTIONS,
  },
  'sign pkcs11-key': { ...SIGNATURE_OPTION, 'pkcs11-uri': { type: 'string', value: 'URI', help: 'RFC 7512 PKCS#11 URI' }, ...SIGN_HASH_OPTIONS, ...MODEL_OPTIONS },
  'sign pkcs11-certificate': {
    ...SIGNATURE_OPTION,
    'pkcs11-uri': { type: 'string', value: 'URI', help: 'RFC 7512 PKCS#11 URI' },
    'signing-certificate': { type: 'string', value: 'FILE', help: 'the signing certificate' },
    'certificate-chain': { type: 'string', multiple: true, value: 'FILE', help: 'intermediate certificates' },
    ...SIGN_HASH_OPTIONS,
    ...MODEL_OPTIONS,
  },
  'verify sigstore': {
    ...SIGNATURE_OPTION,
    identity: { type: 'string', value: 'ID', help: 'the expected signer identity (email or URI), matched exactly' },
    'identity-regex': { type: 'string', value: 'REGEX', help: 'instead of --identity: a regular expression the whole identity must match' },
    'identity-provider': { type: 'string', value: 'URL', help: 'the expected OIDC issuer, matched exactly (required)' },
    'use-staging': { type: 'boolean', help: "use Sigstore's staging trusted root" },
    'trust-config': { type: 'string', value: 'FILE', help: 'a Sigstore ClientTrustConfig for a private Sigstore' },
    'ignore-unsigned-files': { type: 'boolean', help: 'tolerate files the signature does not list' },
    'no-ignore-unsigned-files': { type: 'boolean', help: '' },
    ...MODEL_OPTIONS,
  },
  'verify key': {
    ...SIGNATURE_OPTION,
    'public-key': { type: 'string', value: 'FILE', help: 'the EC public key, PEM (required)' },
    'ignore-unsigned-files': { type: 'boolean', help: 'tolerate files the signature does not list' },
    'no-ignore-unsigned-files': { type: 'boolean', help: '' },
    ...MODEL_OPTIONS,
  },
  'verify certificate': {
    ...SIGNATURE_OPTION,
    'certificate-chain': { type: 'string', multiple: true, value: 'FILE', help: "trust anchors, PEM (default: Node's Mozilla CA list)" },
    'log-fingerprints': { type: 'boolean', help: 'print the SHA-256 fingerprints of the certificate path' },
    'ignore-unsigned-files': { type: 'boolean', help: 'tolerate files the signature does not list' },
    'no-ignore-unsigned-files': { type: 'boolean', help: '' },
    ...MODEL_OPTIONS,
  },
  digest: { ...MODEL_OPTIONS },
};

const USAGE = `modelseal ${VERSION}: sign ML models and verify them anywhere (OpenSSF Model Signing)

Usage:
  modelseal sign [sigstore|key|certificate] MODEL [options]     write a signature (default: model.sig)
  modelseal verify [sigstore|key|certificate] MODEL --signature FILE [options]
  modelseal digest MODEL                                         print the model's root digest
  modelseal serve [MODEL_REPOSITORY] [options]                   serve only models that verify

Without a method, sign and verify use Sigstore keyless signing (as the reference).
Run \`modelseal sign key --help\` (etc.) for a command's options.

Exit status: 0 ok, 1 internal error, 2 usage, 3 unreadable model or key, 4 malformed or unreadable
signature, 5 invalid or untrusted signature, 6 model differs from its signature, 7 unsupported,
8 a Sigstore/OIDC service failed.`;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

function modelOptions(p: Parsed): ModelOptions {
  const maxWorkers = positiveInt(str(p, 'max-workers'), 'max-workers');
  return {
    ignorePaths: list(p, 'ignore-paths'),
    ignoreGitPaths: onOff(p, 'ignore-git-paths', true),
    allowSymlinks: flag(p, 'allow-symlinks'),
    ...(maxWorkers !== undefined ? { maxWorkers } : {}),
  };
}

function sigstoreSignOptions(p: Parsed): SigstoreSignOptions {
  const o: SigstoreSignOptions = {};
  const tok = str(p, 'identity-token');
  if (tok !== undefined) o.identityToken = tok;
  if (flag(p, 'use-staging')) o.useStaging = true;
  const tc = str(p, 'trust-config');
  if (tc !== undefined) o.trustConfig = tc;
  if (flag(p, 'use-ambient-credentials')) o.useAmbientCredentials = true;
  if (flag(p, 'oauth-force-oob')) o.oauthForceOob = true;
  const id = str(p, 'client-id');
  if (id !== undefined) o.clientId = id;
  const secret = str(p, 'client-secret');
  if (secret !== undefined) o.clientSecret = secret;
  return o;
}

/** Sigstore's libraries are loaded only for the Sigstore method: they cost ~0.5 s and ~30 MiB at start-up. */
async function makeSigner(method: string, p: Parsed): Promise<Signer> {
  switch (method) {
    case 'key': {
      const password = str(p, 'password');
      return keySigner({ privateKey: readInputFile(required(p, 'private-key'), 'private key'), ...(password !== undefined ? { password } : {}) });
    }
    case 'certificate':
      return certificateSigner({
        privateKey: readInputFile(required(p, 'private-key'), 'private key'),
        signingCertificate: readInputFile(required(p, 'signing-certificate'), 'signing certificate'),
        certificateChain: list(p, 'certificate-chain').map((f) => readInputFile(f, 'certificate chain')),
      });
    case 'sigstore': {
      const { sigstoreSigner } = await import('../signing/sigstore.js');
      return sigstoreSigner(sigstoreSignOptions(p));
    }
    default:
      throw fail('UNSUPPORTED', `${method} signing (PKCS#11 hardware tokens) is not available in this build`);
  }
}

async function makeVerifier(method: string, p: Parsed): Promise<Verifier> {
  switch (method) {
    case 'key':
      return keyVerifier({ publicKey: readInputFile(required(p, 'public-key'), 'public key') });
    case 'certificate': {
      const anchors = list(p, 'certificate-chain').map((f) => readInputFile(f, 'certificate chain'));
      return certificateVerifier(anchors.length ? { trustAnchors: anchors } : {});
    }
    default: {
      const identity = str(p, 'identity');
      const identityRegex = str(p, 'identity-regex');
      if ((identity === undefined) === (identityRegex === undefined)) {
        throw fail('USAGE', 'give exactly one of --identity or --identity-regex');
      }
      const trustConfig = str(p, 'trust-config');
      const { sigstoreVerifier } = await import('../verifying/sigstore.js');
      return sigstoreVerifier({
        ...(identity !== undefined ? { identity } : {}),
        ...(identityRegex !== undefined ? { identityRegex } : {}),
        identityProvider: required(p, 'identity-provider'),
        ...(flag(p, 'use-staging') ? { useStaging: true } : {}),
        ...(trustConfig !== undefined ? { trustConfig } : {}),
      });
    }
  }
}

/** "key e8450dec4eb9…", "certificate CN=ml-team", "alice@example.com (issuer …)". */
export function describeSigner(s: SignerInfo): string {
  if (s.method === 'key') return `key ${s.keyHint ?? '(no hint)'}`;
  if (s.method === 'certificate') return `certificate ${s.certificateSubject ?? '(no subject)'}`;
  const parts = [`issuer ${s.issuer ?? '?'}`];
  if (s.logIndex !== undefined) parts.push(`log index ${s.logIndex}`);
  if (s.signedAt) parts.push(`signed at ${s.signedAt}`);
  if (s.trustRoot) parts.push(`trust root: ${s.trustRoot}`);
  return `${s.identity ?? '(unknown identity)'} (${parts.join(', ')})`;
}

function diffJson(diff: ManifestDiff | undefined): ManifestDiff | undefined {
  return diff ? { changed: diff.changed, missing: diff.missing, extra: diff.extra } : undefined;
}

/** Split `sign key MODEL` / `sign MODEL` into the method and the rest (the reference's default is sigstore). */
function takeMethod(args: string[], methods: readonly string[]): [string, string[]] {
  const first = args[0];
  if (first !== undefined && methods.includes(first)) return [first, args.slice(1)];
  return ['sigstore', args];
}

function onlyModel(p: Parsed, usage: string): string {
  if (p.positionals.length !== 1) {
    throw fail('USAGE', p.positionals.length === 0 ? `missing MODEL_PATH (${usage})` : `unexpected argument '${p.positionals[1]}'`);
  }
  return p.positionals[0]!;
}

async function runSign(args: string[], io: Io): Promise<number> {
  const [method, rest] = takeMethod(args, SIGN_METHODS);
  const specs = COMMAND_OPTIONS[`sign ${method}`]!;
  const p = parseCommandLine(rest, specs);
  if (flag(p, 'help')) return help(io, `modelseal sign ${method} MODEL [options]`, specs);
  const model = onlyModel(p, `modelseal sign ${method} MODEL`);
  const signaturePath = str(p, 'signature') ?? 'model.sig';
  const alg = str(p, 'hash-algorithm');
  const shardSize = positiveInt(str(p, 'shard-size'), 'shard-size', true);
  const signer = await makeSigner(method, p);
  const progress = progressBar('hashing');
  let r: SignResult;
  try {
    r = await sign(model, {
      ...modelOptions(p),
      signer,
      signaturePath,
      ...(alg !== undefined ? { hashAlgorithm: alg as never } : {}),
      ...(shardSize ? { method: 'shards' as const, shardSize } : {}),
      ...(progress ? { onProgress: progress.update } : {}),
    });
  } finally {
    progress?.done();
  }
  const ser = r.manifest.serialization;
  if (flag(p, 'json')) {
    io.out(JSON.stringify({ ok: true, method, signature: signaturePath, modelName: r.manifest.modelName, rootDigest: r.manifest.rootDigest, files: r.manifest.items.length, serialization: ser }));
  } else {
    io.out(`Signing succeeded: wrote ${signaturePath} (${method}; ${r.manifest.items.length} ${ser.method === 'shards' ? 'shards' : 'files'}, ${ser.hashType})`);
  }
  return EXIT.OK;
}

async function runVerify(args: string[], io: Io): Promise<number> {
  const [method, rest] = takeMethod(args, VERIFY_METHODS);
  const specs = COMMAND_OPTIONS[`verify ${method}`]!;
  const p = parseCommandLine(rest, specs);
  if (flag(p, 'help')) return help(io, `modelseal verify ${method} MODEL --signature FILE [options]`, specs);
  const model = onlyModel(p, `modelseal verify ${method} MODEL --signature FILE`);
  const signaturePath = required(p, 'signature');
  const verifier = await makeVerifier(method, p);
  const progress = progressBar('verifying');
  let r: VerifyResult;
  try {
    r = await verify(model, {
      ...modelOptions(p),
      verifier,
      signaturePath,
      ignoreUnsignedFiles: onOff(p, 'ignore-unsigned-files', false),
      ...(progress ? { onProgress: progress.update } : {}),
    });
  } finally {
    progress?.done();
  }
  for (const w of r.signer.warnings) io.err(`warning: ${w}`);
  if (method === 'certificate' && flag(p, 'log-fingerprints')) {
    for (const f of r.signer.certificateFingerprints ?? []) io.err(`certificate fingerprint (SHA-256): ${f}`);
  }
  if (flag(p, 'json')) {
    io.out(JSON.stringify({ ok: true, method, signer: r.signer, modelName: r.manifest.modelName, rootDigest: r.manifest.rootDigest, filesCompared: r.filesCompared, serialization: r.manifest.serialization, diff: diffJson(r.diff) }));
  } else {
    const tolerated = r.diff.extra.length ? `; ${r.diff.extra.length} unsigned files ignored` : '';
    io.out(`Verification succeeded: signed by ${describeSigner(r.signer)}; ${r.filesCompared} ${r.manifest.serialization.method === 'shards' ? 'shards' : 'files'} verified (${method}, ${r.manifest.serialization.hashType})${tolerated}`);
  }
  return EXIT.OK;
}

async function runDigest(args: string[], io: Io): Promise<number> {
  const p = parseCommandLine(args, COMMAND_OPTIONS.digest!);
  if (flag(p, 'help')) return help(io, 'modelseal digest MODEL [options]', COMMAND_OPTIONS.digest!);
  const model = onlyModel(p, 'modelseal digest MODEL');
  const progress = progressBar('hashing');
  let digest: string;
  try {
    digest = await referenceDigest(model, { ...modelOptions(p), ...(progress ? { onProgress: progress.update } : {}) });
  } finally {
    progress?.done();
  }
  io.out(flag(p, 'json') ? JSON.stringify({ ok: true, digest }) : digest);
  return EXIT.OK;
}

function help(io: Io, usage: string, specs: OptionSpecs): number {
  io.out(`Usage: ${usage}\n\nOptions:\n${helpFor(specs)}`);
  return EXIT.OK;
}

const FAILURE_PREFIX: Record<string, string> = {
  sign: 'Signing failed with error',
  verify: 'Verification failed with error',
  digest: 'Computing digest failed',
};

/** Run the CLI; returns the exit status. Never throws for user errors. */
export async function main(argv: string[], io: Io = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') }): Promise<number> {
  const [command, ...rest] = argv;
  const wantsJson = rest.includes('--json');
  try {
    switch (command) {
      case 'sign':
        return await runSign(rest, io);
      case 'verify':
        return await runVerify(rest, io);
      case 'digest':
        return await runDigest(rest, io);
      case 'serve': {
        const { serveCommand } = await import('../server/index.js');
        return await serveCommand(rest);
      }
      case '--version':
      case 'version':
        io.out(VERSION);
        return EXIT.OK;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(USAGE);
        return command === undefined ? EXIT.USAGE : EXIT.OK;
      default:
        throw fail('USAGE', `unknown command '${command}'`);
    }
  } catch (e) {
    if (!isModelSealError(e)) {
      io.err(`modelseal: internal error: ${(e as Error)?.stack ?? String(e)}`);
      return EXIT.INTERNAL;
    }
    const err = e as ModelSealError;
    const prefix = err.code === 'USAGE' ? 'modelseal' : (FAILURE_PREFIX[command ?? ''] ?? 'modelseal');
    io.err(`${prefix}: ${err.message}${err.code === 'USAGE' ? ' (see modelseal --help)' : ''}`);
    if (wantsJson) {
      io.out(JSON.stringify({ ok: false, code: err.code, error: err.message, ...(err.code === 'CONTENT_MISMATCH' ? { diff: diffJson(err.details as ManifestDiff) } : {}) }));
    }
    return EXIT_FOR_CODE[err.code] ?? EXIT.INTERNAL;
  }
}

if (isEntryPoint(import.meta.url)) void runAsProgram(main, process.argv[2] === 'serve');
