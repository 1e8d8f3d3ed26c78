/**
 * The KBS error registry. Every failure leaves the server as `ErrorInformation` JSON (`{type,
 * detail}`, upstream trustee `kbs/src/error.rs`) with upstream's type URIs, statuses and detail
 * texts, so the real guest client (which parses every non-200 body) and scripts grepping for
 * upstream messages keep working. Some codes are ours, for conditions upstream leaves to actix with
 * a non-JSON body: BadRequest (400, malformed HTTP), MethodNotAllowed (405), RequestTimeout (408, a
 * request not received in time), PayloadTooLarge (413), HeadersTooLarge (431), TooManyRequests
 * (429, the per-client /auth rate limit), InternalError (500), ServiceUnavailable (503: the store,
 * the AS or the RVPS does not answer right now; the request changed nothing it could not undo and
 * may be retried, on this replica or another).
 */
import * as grpc from '@grpc/grpc-js';
import { DependencyUnavailableError } from '@trustee/grpc';
import { ERROR_TYPE_PREFIX, KBS_ERROR_VARIANTS, type ErrorInformation, type KbsErrorVariant } from '@trustee/protocol';
import { isStorageUnavailable } from '@trustee/storage';
import { RemoteAttestationError } from './grpcAttestationService.ts';
import { TrusteeError, type ErrorStatus, type ErrorStatusTable } from '@trustee/errors';

/** Our codes for the conditions upstream leaves to actix (see above). */
type TransportErrorCode = 'BadRequest' | 'MethodNotAllowed' | 'RequestTimeout' | 'PayloadTooLarge' | 'HeadersTooLarge' | 'TooManyRequests' | 'InternalError' | 'ServiceUnavailable';

const TRANSPORT_ERROR_STATUS: Readonly<Record<TransportErrorCode, number>> = {
  BadRequest: 400,
  MethodNotAllowed: 405,
  RequestTimeout: 408,
  PayloadTooLarge: 413,
  HeadersTooLarge: 431,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
};

/** Upstream's variants (statuses from @trustee/protocol's table) plus our transport codes. */
export type KbsErrorCode = KbsErrorVariant | TransportErrorCode;

/**
 * The KBS's one table from error code to HTTP status (the KBS speaks no gRPC): upstream's from
 * the protocol table (404 only for the two path errors), then ours.
 */
export const KBS_ERROR_STATUS: ErrorStatusTable<KbsErrorCode> = Object.fromEntries(
  Object.entries({ ...KBS_ERROR_VARIANTS, ...TRANSPORT_ERROR_STATUS }).map(([code, http]) => [code, { http }]),
) as Record<KbsErrorCode, ErrorStatus>;

/**
 * A failure with its wire form. `detail` goes to the client; `reason` (never secrets, tokens or
 * evidence) only to the log, for the cases where upstream hides the cause from the client.
 */
export class KbsError extends TrusteeError<KbsErrorCode> {
  readonly detail: string;
  readonly reason: string | undefined;

  constructor(code: KbsErrorCode, detail: string, reason?: string, options?: { cause?: unknown }) {
    super(code, `${code}: ${detail}${reason === undefined ? '' : ` (${reason})`}`, options);
    this.detail = detail;
    this.reason = reason;
  }

  get status(): number {
    return KBS_ERROR_STATUS[this.code].http;
  }

  toErrorInformation(): ErrorInformation {
    return { type: ERROR_TYPE_PREFIX + this.code, detail: this.detail };
  }
}

/** The detail texts of upstream's Display impls, in one place. */
export const kbsErrors = {
  authFailed: (cause: string) => new KbsError('AttestationError', `Attestation error: RCAR handshake Auth failed: ${cause}`),
  attestFailed: (reason: string, cause?: unknown) =>
    new KbsError('AttestationError', 'Attestation error: RCAR handshake Attest failed', reason, { cause }),
  setAttestationPolicyFailed: (reason: string) => new KbsError('AttestationError', 'Attestation error: Set Attestation Policy failed', reason),
  tokenNotFound: () => new KbsError('TokenNotFound', 'Attestation Token not found'),
  tokenVerifier: (reason: string) => new KbsError('TokenVerifierError', 'Token Verifier error', reason),
  policyDeny: (reason?: string) => new KbsError('PolicyDeny', 'Access denied by policy', reason),
  policyEngine: (message: string) => new KbsError('PolicyEngineError', `Policy engine error: ${message}`),
  pluginInternal: (reason: string) => new KbsError('PluginInternalError', 'Plugin internal error', reason),
  pluginNotFound: (name: string) => new KbsError('PluginNotFound', `Plugin ${name} not found`),
  invalidRequestPath: (path: string) => new KbsError('InvalidRequestPath', `Request path ${path} is invalid`),
  jwe: (reason: string) => new KbsError('JweError', 'JWE failed', reason),
  adminAccess: (endpoint: string, reason: string) => new KbsError('AdminAuthAccess', `admin access denied for endpoint ${endpoint}: ${reason}`),
  /**
   * Upstream converts admin failures on plugin admin paths through this variant (a quirk of
   * upstream trustee `kbs/src/api_server.rs`, kept for compatibility).
   */
  adminAuthInitialization: (reason: string) => new KbsError('AdminAuthInitialization', `failed to initialize [admin] configuration: ${reason}`),
  parsePolicy: (message: string) => new KbsError('ParsePolicyError', `Failed to parse policy: ${message}`),
  rvps: (message: string) => new KbsError('RvpsError', `RVPS configuration failed: ${message}`),
  serde: (reason: string) => new KbsError('SerdeError', 'Serialize/Deserialize failed', reason),
  methodNotAllowed: (method: string, path: string) => new KbsError('MethodNotAllowed', `Method ${method} is not allowed for ${path}`),
  payloadTooLarge: (limitBytes: number) => new KbsError('PayloadTooLarge', `Request body exceeds the limit of ${limitBytes} bytes`),
  badRequest: () => new KbsError('BadRequest', 'Malformed HTTP request'),
  requestTimeout: (limitMs: number) => new KbsError('RequestTimeout', `Request not received within ${limitMs / 1000} s`),
  tooManyRequests: () => new KbsError('TooManyRequests', 'Too many /auth requests from this address, retry later'),
  headersTooLarge: () => new KbsError('HeadersTooLarge', 'Request headers too large'),
  internal: (requestId: string) => new KbsError('InternalError', `Internal error (request id ${requestId})`),
  unavailable: (dependency: string, reason: string) => new KbsError('ServiceUnavailable', `Service unavailable: the ${dependency} does not answer, retry later`, reason),
} as const;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a JSON request body (strict UTF-8, like serde); any failure becomes the caller's typed error. */
export function parseJsonBody(body: Uint8Array, onError: (message: string) => KbsError): unknown {
  try {
    return JSON.parse(UTF8.decode(body));
  } catch (error) {
    throw onError((error as Error).message);
  }
}

/**
 * RemoteAttestationError codes that mean the AS was not reached (or not in time), or answered
 * that its own store is away (`services/as` code `unavailable`). Other answers of the AS (e.g.
 * `collateral_unavailable: …`) carry the AS's code and stay a refusal, as upstream answers them.
 */
const UNREACHABLE = new Set<string>([grpc.status[grpc.status.UNAVAILABLE], grpc.status[grpc.status.DEADLINE_EXCEEDED], 'unavailable']);

/**
 * The dependency behind a failure, when the failure only means "that dependency does not answer
 * right now" (the store, the remote AS or RVPS, a start still waiting for them); undefined for
 * every other failure. Such requests leave as 503 ServiceUnavailable, not as a refusal.
 */
export function unavailableDependency(error: unknown): string | undefined {
  if (isStorageUnavailable(error)) return 'storage backend';
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    if (current instanceof DependencyUnavailableError) return current.dependency;
    if (current instanceof RemoteAttestationError && UNREACHABLE.has(current.code)) return 'attestation service';
  }
  return undefined;
}

/** For catch blocks that wrap failures in an upstream variant: an outage is not wrapped. */
export function rethrowIfUnavailable(error: unknown): void {
  if (unavailableDependency(error) !== undefined) throw error;
}
