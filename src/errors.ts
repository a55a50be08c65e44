/**
 * Typed errors with a stable `code`. Everything user-facing (CLI exit codes, HTTP statuses,
 * gRPC statuses) is derived from the code in exactly one table each; nothing matches on message text.
 */
export type ErrorCode =
  /** Bad command line or option values (CLI usage). */
  | 'USAGE'
  /** Input that cannot be used: unreadable model path, bad key file, symlink, empty model... */
  | 'BAD_INPUT'
  /** The signature file is unreadable, not JSON, or structurally not an OMS bundle/statement. */
  | 'BAD_BUNDLE'
  /** The signature does not verify against the key/certificate it claims. */
  | 'SIGNATURE_INVALID'
  /** The signature is valid but the signer is not the trusted one (wrong key, CA, identity, issuer). */
  | 'UNTRUSTED_SIGNER'
  /** Signature and signer are fine, but the model on disk differs from what was signed. */
  | 'CONTENT_MISMATCH'
  /** A feature exists in the interface but not in this build/configuration. */
  | 'UNSUPPORTED'
  /** A remote service (Fulcio, Rekor, TSA, OIDC) failed or timed out. */
  | 'NETWORK';

export class ModelSealError extends Error {
  readonly code: ErrorCode;
  /** Optional structured detail (e.g. the manifest diff for CONTENT_MISMATCH). */
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ModelSealError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isModelSealError(e: unknown): e is ModelSealError {
  return e instanceof ModelSealError;
}

/** A failed file-system call in one word for messages: its errno code (ENOENT, EACCES...), else the error's text. */
export function fsErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code ? String(code) : String(e);
}

/** Shorthand used throughout: `throw fail('BAD_INPUT', '...')`. */
export function fail(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }): ModelSealError {
  return new ModelSealError(code, message, options);
}
