/**
 * The RVPS error registry: one stable code per failure, mapped exhaustively to a gRPC status
 * and an HTTP status. Upstream answers every failure with ABORTED; trustee-ts keeps upstream's
 * message texts ("Version unmatched!", "Could not find extractor for …") but gives callers a
 * status they can act on.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ReferenceValueError } from '@trustee/rvps-core';
import { isStorageUnavailable } from '@trustee/storage';
import type { Logger } from '@trustee/log';
import { TrusteeError, type ErrorStatus, type ErrorStatusTable } from '@trustee/errors';

export type RvpsErrorCode =
  /** The registration message or a request field is unusable (JSON, version, type, payload, id). */
  | 'invalid_argument'
  /** The reference value does not exist (REST only: gRPC Query answers with an absent field). */
  | 'not_found'
  /** Admin operation without a valid bearer token. */
  | 'unauthenticated'
  /** Admin operation while no admin key is configured. */
  | 'permission_denied'
  /** Request body over the size limit. */
  | 'payload_too_large'
  /** The store does not answer right now: retry (here or on another replica). */
  | 'unavailable'
  /** Storage or other internal failure; the client sees only a request id. */
  | 'internal';

interface Mapping extends ErrorStatus {
  readonly grpc: GrpcStatus;
}

export const RVPS_ERROR_STATUS: ErrorStatusTable<RvpsErrorCode, Mapping> = {
  invalid_argument: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  not_found: { grpc: GrpcStatus.NOT_FOUND, http: 404 },
  unauthenticated: { grpc: GrpcStatus.UNAUTHENTICATED, http: 401 },
  permission_denied: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403 },
  payload_too_large: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413 },
  unavailable: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  internal: { grpc: GrpcStatus.INTERNAL, http: 500 },
};

export class RvpsError extends TrusteeError<RvpsErrorCode> {
  get grpcStatus(): GrpcStatus {
    return RVPS_ERROR_STATUS[this.code].grpc;
  }

  get httpStatus(): number {
    return RVPS_ERROR_STATUS[this.code].http;
  }
}

/** Logs a failed call once, on the call's logger (its lines carry the request id); the cause of an internal error goes only here. */
export function logFailure(log: Logger, transport: 'grpc' | 'rest', operation: string, error: RvpsError, caught: unknown): void {
  if (error.code === 'internal') log.error({ transport, operation, cause: (caught as Error).message }, 'request failed');
  else log.info({ transport, operation, code: error.code }, 'request rejected');
}

/**
 * Any thrown value → RvpsError. Rejected registrations keep the core's message; anything else
 * becomes `internal` with a request id, the cause going to the log only.
 */
export function toRvpsError(error: unknown, requestId: string): RvpsError {
  if (error instanceof RvpsError) return error;
  if (isStorageUnavailable(error)) return new RvpsError('unavailable', 'the storage backend does not answer, retry later', { cause: error });
  if (error instanceof ReferenceValueError && error.code === 'invalid_reference_value') {
    return new RvpsError('invalid_argument', error.message, { cause: error });
  }
  return new RvpsError('internal', `internal error (request id ${requestId})`, { cause: error });
}
