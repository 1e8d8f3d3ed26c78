/**
 * The one error type of @trustee/attestation. `code` is stable so services can map it to their
 * own registries (HTTP status, KBS `ErrorInformation` variant).
 */
import { TrusteeError } from '@trustee/errors';
export const ATTESTATION_ERROR_CODES = [
  /** The request itself is unusable: no requests, bad runtime data, unknown hash algorithm. */
  'invalid_request',
  /** Init-data TOML that does not parse or lacks `version`/`algorithm`/`data`. */
  'invalid_init_data',
  /** The TEE has no verifier in this build. */
  'unsupported_tee',
  /** The evidence is malformed or failed verification (see `cause`: a VerificationError). */
  'verification_failed',
  /** Collateral (VCEK, PCS TCB info, CRL) could not be obtained. */
  'collateral_unavailable',
  /** `<policy_ids[0]>_<tee class>` is not stored. */
  'policy_not_found',
  /** Policy text that does not parse/compile (set-policy) or an unusable policy id. */
  'invalid_policy',
  /** The Rego evaluation failed (conflict, type error, budget exceeded). */
  'policy_evaluation_failed',
  /** `data.policy.trust_claims` or `data.policy.extensions` has the wrong shape. */
  'invalid_policy_result',
  /** RVPS registration message rejected (version, type, payload). */
  'invalid_reference_value',
  /** RVPS backend unavailable (storage, remote RVPS unreachable or timing out): retryable. */
  'rvps_error',
  /** The remote RVPS answered with an internal error of its own (not retryable). */
  'rvps_failed',
  /** The caller's credentials are missing or rejected (a remote RVPS's admin calls). */
  'unauthenticated',
  /** The caller may not do this (a remote RVPS without admin configuration). */
  'permission_denied',
  /** The thing asked for does not exist (a remote RVPS answered NOT_FOUND). */
  'not_found',
  /** The EAR could not be assembled or signed (e.g. empty profile/build/developer). */
  'token_issue_failed',
  /** Configuration rejected at startup (path-precise message). */
  'invalid_config',
  /** Storage failure while reading or writing policies or keys. */
  'storage_error',
] as const;

export type AttestationErrorCode = (typeof ATTESTATION_ERROR_CODES)[number];

export class AttestationError extends TrusteeError<AttestationErrorCode> {}
