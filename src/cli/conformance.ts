/**
 * The OMS conformance-suite adapter (spec notes §12): `sign-model`, `verify-model`, `capabilities`.
 * Only the exit status matters to the suite; messages go to stderr as one line.
 */
import { sign, verify } from '../api.js';
import { fail, isModelSealError } from '../errors.js';
import { HASH_ALGORITHMS } from '../manifest/types.js';
import { certificateSigner } from '../signing/certificate.js';
import { keySigner } from '../signing/key.js';
import type { Signer } from '../signing/signer.js';
import { certificateVerifier } from '../verifying/certificate.js';
import { keyVerifier } from '../verifying/key.js';
import type { Verifier } from '../verifying/verifier.js';
import { flag, list, parseCommandLine, required, str, type OptionSpecs, type Parsed } from './args.js';
import { EXIT, EXIT_FOR_CODE } from './exit-codes.js';
import { readInputFile } from './input-file.js';
import { isEntryPoint, runAsProgram } from './program.js';
import { VERSION } from './version.js';

const S = (help: string, multiple = false): OptionSpecs[string] => ({ type: 'string', help, ...(multiple ? { multiple } : {}) });
const B = (help: string): OptionSpecs[string] => ({ type: 'boolean', help });

const SPECS: OptionSpecs = {
  method: S('key | certificate | sigstore'),
  'model-path': S('model folder or file'),
  'output-bundle': S('bundle to write'),
  bundle: S('bundle to verify'),
  'private-key': S('private key (key, certificate)'),
  'public-key': S('public key (key)'),
  'signing-cert': S('signing certificate (certificate)'),
  'cert-chain': S('chain (sign) or trust anchors (verify)', true),
  'ignore-paths': S('absolute paths to exclude', true),
  'ignore-unsigned-files': B('tolerate unsigned files'),
  'identity-token': S('OIDC token (sigstore)'),
  identity: S('expected identity (sigstore)'),
  'identity-provider': S('expected issuer (sigstore)'),
  'use-staging': B('Sigstore staging'),
  'trust-config': S('Sigstore ClientTrustConfig'),
};

async function signer(p: Parsed): Promise<Signer> {
  const method = required(p, 'method');
  if (method === 'key') return keySigner({ privateKey: readInputFile(required(p, 'private-key')) });
  if (method === 'certificate') {
    return certificateSigner({
      privateKey: readInputFile(required(p, 'private-key')),
      signingCertificate: readInputFile(required(p, 'signing-cert')),
      certificateChain: list(p, 'cert-chain').map((f) => readInputFile(f)),
    });
  }
  if (method === 'sigstore') {
    const { sigstoreSigner } = await import('../signing/sigstore.js');
    const token = str(p, 'identity-token');
    const trustConfig = str(p, 'trust-config');
    return sigstoreSigner({
      ...(token !== undefined ? { identityToken: token } : {}),
      ...(flag(p, 'use-staging') ? { useStaging: true } : {}),
      ...(trustConfig !== undefined ? { trustConfig } : {}),
    });
  }
  throw fail('USAGE', `unknown --method '${method}'`);
}

async function verifier(p: Parsed): Promise<Verifier> {
  const method = required(p, 'method');
  if (method === 'key') return keyVerifier({ publicKey: readInputFile(required(p, 'public-key')) });
  if (method === 'certificate') {
    const anchors = list(p, 'cert-chain').map((f) => readInputFile(f));
    return certificateVerifier(anchors.length ? { trustAnchors: anchors } : {});
  }
  if (method === 'sigstore') {
    const { sigstoreVerifier } = await import('../verifying/sigstore.js');
    const trustConfig = str(p, 'trust-config');
    return sigstoreVerifier({
      identity: required(p, 'identity'),
      identityProvider: required(p, 'identity-provider'),
      ...(flag(p, 'use-staging') ? { useStaging: true } : {}),
      ...(trustConfig !== undefined ? { trustConfig } : {}),
    });
  }
  throw fail('USAGE', `unknown --method '${method}'`);
}

export async function conformance(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'capabilities') {
      process.stdout.write(
        JSON.stringify({
          flags: Object.keys(SPECS).map((f) => `--${f}`),
          hash_algorithms: HASH_ALGORITHMS,
          benchmark_model: false,
          client_version: VERSION,
        }) + '\n',
      );
      return EXIT.OK;
    }
    const p = parseCommandLine(rest, SPECS);
    if (command === 'sign-model') {
      const out = required(p, 'output-bundle');
      await sign(required(p, 'model-path'), { signer: await signer(p), signaturePath: out, ignorePaths: list(p, 'ignore-paths') });
      return EXIT.OK;
    }
    if (command === 'verify-model') {
      await verify(required(p, 'model-path'), {
        verifier: await verifier(p),
        signaturePath: required(p, 'bundle'),
        ignorePaths: list(p, 'ignore-paths'),
        ignoreUnsignedFiles: flag(p, 'ignore-unsigned-files'),
      });
      return EXIT.OK;
    }
    throw fail('USAGE', `unknown command '${command ?? ''}' (sign-model, verify-model, capabilities)`);
  } catch (e) {
    if (!isModelSealError(e)) {
      process.stderr.write(`oms-conformance: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      return EXIT.INTERNAL;
    }
    process.stderr.write(`oms-conformance: ${e.message}\n`);
    return EXIT_FOR_CODE[e.code] ?? EXIT.INTERNAL;
  }
}

if (isEntryPoint(import.meta.url)) void runAsProgram(conformance);
