/**
 * The one error type of @trustee/rvps-core. `code` is stable so the services map it to their own
 * registries (services/rvps/src/errors.ts, services/as/src/errors.ts) and the attestation core
 * keeps a remote RVPS's answer for what it says (packages/attestation/src/policy/evaluateAppraisalPolicy.ts).
 */
import { TrusteeError } from '@trustee/errors';

export const REFERENCE_VALUE_ERROR_CODES = [
  /** Registration message rejected (version, type, payload, name, limits). */
  'invalid_reference_value',
  /** A remote RVPS refused a query's argument (INVALID_ARGUMENT / RESOURCE_EXHAUSTED). */
  'invalid_request',
  /** Backend unavailable (storage, remote RVPS unreachable or timing out) or unusable data: retryable. */
  'rvps_error',
  /** The remote RVPS answered with an internal error of its own (not retryable). */
  'rvps_failed',
  /** The caller's credentials are missing or rejected (a remote RVPS's admin calls). */
  'unauthenticated',
  /** The caller may not do this (a remote RVPS without admin configuration). */
  'permission_denied',
  /** The thing asked for does not exist (a remote RVPS answered NOT_FOUND). */
  'not_found',
  /** `rvps_config.address` that is not a usable gRPC address (refused at startup). */
  'invalid_config',
] as const;

export type ReferenceValueErrorCode = (typeof REFERENCE_VALUE_ERROR_CODES)[number];

export class ReferenceValueError extends TrusteeError<ReferenceValueErrorCode> {}
