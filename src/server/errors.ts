/** Errors the server answers with: an HTTP status and a one-line message (`{"error": message}`). */
export class ServerError extends Error {
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ServerError';
    this.status = status;
  }
}

export const badRequest = (msg: string): ServerError => new ServerError(400, msg);
export const notFound = (msg: string): ServerError => new ServerError(404, msg);

/** The gRPC status for an HTTP status (MLServer's mapping; refusals are FAILED_PRECONDITION, see VerificationRefused). */
export const GRPC_CODE_FOR_STATUS: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 5, // NOT_FOUND
  413: 8, // RESOURCE_EXHAUSTED
  422: 9, // FAILED_PRECONDITION
  500: 13, // INTERNAL
  503: 14, // UNAVAILABLE
};

/** A model refused by the verification gate: HTTP 400, gRPC FAILED_PRECONDITION. */
export class VerificationRefused extends ServerError {
  readonly model: string;
  readonly reason: string;
  constructor(model: string, reason: string) {
    super(400, `model '${model}' failed signature verification: ${reason}`);
    this.name = 'VerificationRefused';
    this.model = model;
    this.reason = reason;
  }
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.message;
  return String(e);
}
