/**
 * The AS service's one error registry: every failure has a stable code, a gRPC status and an
 * HTTP status. Upstream answers every failure with gRPC ABORTED / HTTP 500; here a caller can
 * tell its own mistake (INVALID_ARGUMENT / 400) from evidence that failed (PERMISSION_DENIED /
 * 403), a missing policy (NOT_FOUND / 404), an outage (UNAVAILABLE / 503) and a server bug
 * (INTERNAL / 500). The table is exhaustive: a new code without statuses does not compile.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { AttestationError, type AttestationErrorCode } from '@trustee/attestation';
import { DependencyUnavailableError } from '@trustee/grpc';
import { ReferenceValueError, type ReferenceValueErrorCode } from '@trustee/rvps-core';
import { isStorageUnavailable } from '@trustee/storage';
import { VerificationError } from '@trustee/verifiers';
import type { Logger } from '@trustee/log';
import { TrusteeError, type ErrorStatus, type ErrorStatusTable } from '@trustee/errors';

export const AS_ERROR_CODES = [
  'invalid_request',
  'malformed_evidence',
  'unsupported_tee',
  'verification_failed',
  'collateral_unavailable',
  'policy_not_found',
  'not_found',
  'invalid_policy',
  'policy_evaluation_failed',
  'invalid_reference_value',
  'rvps_unavailable',
  'unavailable',
  'rvps_failed',
  'unauthenticated',
  'permission_denied',
  'payload_too_large',
  'unsupported_media_type',
  'internal',
] as const;
export type AsErrorCode = (typeof AS_ERROR_CODES)[number];

interface Mapping extends ErrorStatus {
  readonly grpc: GrpcStatus;
  /** Short description for the README table and 5xx bodies. */
  readonly title: string;
}

export const AS_ERRORS: ErrorStatusTable<AsErrorCode, Mapping> = {
  invalid_request: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, title: 'malformed request (base64, JSON, TEE name, hash algorithm, init-data)' },
  malformed_evidence: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, title: 'evidence that does not parse for its TEE' },
  unsupported_tee: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, title: 'a TEE without a verifier in this build' },
  verification_failed: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403, title: 'evidence parsed but failed verification (signature, chain, binding, TCB)' },
  collateral_unavailable: { grpc: GrpcStatus.UNAVAILABLE, http: 503, title: 'VCEK / PCS collateral could not be obtained' },
  policy_not_found: { grpc: GrpcStatus.NOT_FOUND, http: 404, title: 'the appraisal policy <id>_<class> is not stored' },
  not_found: { grpc: GrpcStatus.NOT_FOUND, http: 404, title: 'unknown policy id (get/delete)' },
  invalid_policy: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, title: 'policy text that does not parse/compile, or a bad policy id' },
  policy_evaluation_failed: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 500, title: 'the stored policy failed to evaluate or gave an unusable result' },
  invalid_reference_value: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, title: 'RVPS message rejected (version, type, payload)' },
  rvps_unavailable: { grpc: GrpcStatus.UNAVAILABLE, http: 503, title: 'the RVPS (storage or remote service) failed' },
  unavailable: { grpc: GrpcStatus.UNAVAILABLE, http: 503, title: 'the store does not answer (or the start-up still waits for it); retry' },
  rvps_failed: { grpc: GrpcStatus.INTERNAL, http: 502, title: 'the remote RVPS answered with an error of its own (not retryable)' },
  unauthenticated: { grpc: GrpcStatus.UNAUTHENTICATED, http: 401, title: 'admin call without a valid admin bearer token (here or at the remote RVPS)' },
  permission_denied: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403, title: 'admin call while no admin key is configured (here or at the remote RVPS)' },
  payload_too_large: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413, title: 'request body over the limit' },
  unsupported_media_type: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 415, title: 'REST body without Content-Type: application/json' },
  internal: { grpc: GrpcStatus.INTERNAL, http: 500, title: 'unexpected server error (see the log line with the request id)' },
};

/** The RVPS core's codes (built-in RVPS, remote RVPS client), as the attestation core maps them. */
const FROM_REFERENCE_VALUES: Readonly<Record<ReferenceValueErrorCode, AsErrorCode>> = {
  invalid_reference_value: 'invalid_reference_value',
  invalid_request: 'invalid_request',
  rvps_error: 'rvps_unavailable',
  rvps_failed: 'rvps_failed',
  unauthenticated: 'unauthenticated',
  permission_denied: 'permission_denied',
  not_found: 'not_found',
  invalid_config: 'internal',
};

/** The attestation core's codes: its own, and the RVPS codes it passes on unchanged (above). */
const FROM_ATTESTATION: Readonly<Record<AttestationErrorCode, AsErrorCode>> = {
  ...FROM_REFERENCE_VALUES,
  invalid_request: 'invalid_request',
  invalid_init_data: 'invalid_request',
  unsupported_tee: 'unsupported_tee',
  verification_failed: 'verification_failed',
  collateral_unavailable: 'collateral_unavailable',
  policy_not_found: 'policy_not_found',
  invalid_policy: 'invalid_policy',
  policy_evaluation_failed: 'policy_evaluation_failed',
  invalid_policy_result: 'policy_evaluation_failed',
  token_issue_failed: 'internal',
  invalid_config: 'internal',
  storage_error: 'internal',
};

/** A failure of this service, already classified. */
export class AsError extends TrusteeError<AsErrorCode> {
  get grpcStatus(): GrpcStatus {
    return AS_ERRORS[this.code].grpc;
  }

  get httpStatus(): number {
    return AS_ERRORS[this.code].http;
  }
}

/** What a failure's log line says of its cause (class and message; never the request). */
function describeCause(error: unknown): string {
  const cause = error instanceof AsError && error.cause !== undefined ? error.cause : error;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}

/**
 * Logs a failed call once, on the call's logger (its lines carry the request id), for both
 * transports alike, and returns the detail the caller gets: an internal error names only the
 * request id; its cause goes to the log.
 */
export function reportFailure(log: Logger, requestId: string, route: string, error: AsError, original: unknown): string {
  if (error.code === 'internal') {
    log.error({ route, code: error.code, cause: describeCause(original) }, 'request failed');
    return `internal error (request id ${requestId})`;
  }
  if (error.httpStatus >= 500) log.warn({ route, code: error.code }, error.message);
  else log.info({ route, code: error.code }, 'request refused');
  return error.message;
}

/**
 * Classifies anything thrown below the transports. Evidence that does not parse is told apart
 * from evidence that failed through the VerificationError the core keeps as `cause`.
 */
export function toAsError(error: unknown): AsError {
  if (error instanceof AsError) return error;
  if (error instanceof DependencyUnavailableError || isStorageUnavailable(error)) {
    return new AsError('unavailable', `unavailable: ${error instanceof DependencyUnavailableError ? error.message : 'the storage backend does not answer'}`, { cause: error });
  }
  if (error instanceof AttestationError) {
    let code = FROM_ATTESTATION[error.code];
    if (code === 'verification_failed' && error.cause instanceof VerificationError && error.cause.code === 'malformed_evidence') code = 'malformed_evidence';
    return new AsError(code, error.message, { cause: error });
  }
  if (error instanceof ReferenceValueError) return new AsError(FROM_REFERENCE_VALUES[error.code], error.message, { cause: error });
  if (error instanceof VerificationError) {
    const code = error.code === 'malformed_evidence' ? 'malformed_evidence' : error.code === 'unsupported' ? 'unsupported_tee' : error.code === 'collateral_unavailable' ? 'collateral_unavailable' : 'verification_failed';
    return new AsError(code, error.message, { cause: error });
  }
  return new AsError('internal', 'internal error', { cause: error });
}
