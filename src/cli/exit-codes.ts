import type { ErrorCode } from '../errors.js';

/**
 * The CLI's exit status per failure class: the one table that maps error codes to exit codes.
 * The reference exits 1 for every failure; we keep "non-zero means failure" and make the classes
 * distinguishable for scripts. Documented in the README.
 */
export const EXIT = {
  OK: 0,
  /** An unexpected internal error (a bug: please report it). */
  INTERNAL: 1,
  USAGE: 2,
  /** The model, a key or a certificate could not be read or used. */
  BAD_INPUT: 3,
  /** The signature file is unreadable or not a well-formed OMS bundle. */
  BAD_BUNDLE: 4,
  /** The signature is invalid, or was not made by the trusted key / CA / identity. */
  UNTRUSTED: 5,
  /** The signature is good but the model differs from what was signed. */
  CONTENT_MISMATCH: 6,
  /** The requested feature is not available in this build. */
  UNSUPPORTED: 7,
  /** A remote service (Fulcio, Rekor, TSA, OIDC) failed. */
  NETWORK: 8,
} as const;

export const EXIT_FOR_CODE: Record<ErrorCode, number> = {
  USAGE: EXIT.USAGE,
  BAD_INPUT: EXIT.BAD_INPUT,
  BAD_BUNDLE: EXIT.BAD_BUNDLE,
  SIGNATURE_INVALID: EXIT.UNTRUSTED,
  UNTRUSTED_SIGNER: EXIT.UNTRUSTED,
  CONTENT_MISMATCH: EXIT.CONTENT_MISMATCH,
  UNSUPPORTED: EXIT.UNSUPPORTED,
  NETWORK: EXIT.NETWORK,
};
