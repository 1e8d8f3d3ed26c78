/**
 * The one error type of @trustee/attestation. `code` is stable so services can map it to their
 * own registries (HTTP status, KBS `ErrorInformation` variant).
 */
import { TrusteeError } from '@trustee/errors';
import { REFERENCE_VALUE_ERROR_CODES, type ReferenceValueErrorCode } from '@trustee/rvps-core';

/** The codes the attestation core raises itself; the RVPS core's codes join them below. */
const OWN_CODES = [
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
  /** The EAR could not be assembled or signed (e.g. empty profile/build/developer). */
  'token_issue_failed',
  /** Configuration rejected at startup (path-precise message). */
  'invalid_config',
  /** Storage failure while reading or writing policies or keys. */
  'storage_error',
] as const;

/**
 * A ReferenceValueError (built-in or remote RVPS) keeps its code when the attestation core
 * rethrows it (packages/attestation/src/policy/evaluateAppraisalPolicy.ts), so every RVPS code
 * is also an attestation code: `invalid_reference_value`, `rvps_error` (retryable outage),
 * `rvps_failed` (the remote RVPS's own failure), `unauthenticated`, `permission_denied`, `not_found`.
 */
export type AttestationErrorCode = (typeof OWN_CODES)[number] | ReferenceValueErrorCode;

export const ATTESTATION_ERROR_CODES: readonly AttestationErrorCode[] = [...new Set<AttestationErrorCode>([...OWN_CODES, ...REFERENCE_VALUE_ERROR_CODES])];

export class AttestationError extends TrusteeError<AttestationErrorCode> {}
