/**
 * @trustee/attestation — the attestation service core: verify evidence, appraise it with Rego
 * policies and reference values, issue EAR tokens. Reference values come from @trustee/rvps-core
 * (the built-in RVPS by default); the KBS verifies the tokens with its own verifier
 * (services/kbs/src/token/, as upstream's kbs/src/token/), which does not import this package.
 *
 * Typical KBS wiring (builtin AS):
 * ```ts
 * import { createAttestationService, parseAttestationServiceConfig } from '@trustee/attestation';
 * const config = parseAttestationServiceConfig(kbsToml.attestation_service, 'attestation_service');
 * const as = await createAttestationService({ store, config, log });
 * const token = await as.evaluate([{
 *   tee: 'sample',
 *   evidence: attestation['tee-evidence'].primary_evidence,
 *   runtimeData: { structured: { 'tee-pubkey': key, nonce, 'additional-evidence': '' } },
 *   initData: { toml: initDataToml },               // or { digest: bytes }, or omitted
 *   runtimeDataHashAlgorithm: 'sha384',              // 'sha512' for se
 * }], ['default']);
 * ```
 *
 * Differences from upstream, on purpose:
 * - Without `attestation_token_broker.signer`, the signing key is generated once and persisted
 *   in the store (namespace `attestation_service_keys`), not regenerated per process.
 * - An unknown trust-claim name in a policy is an `invalid_policy_result` error (upstream panics).
 * - `evaluate` with empty `policyIds` uses `["default"]` (upstream's transports do the same).
 * - The default GPU policy reads the sample device's `device_svn` from the RVPS (upstream reads
 *   `data.reference.device_svn`, which is never populated).
 * - `rvps_config.type = "GrpcRemote"` requires the caller to pass `referenceValues` (a client:
 *   `createGrpcRvpsClient` of @trustee/rvps-core).
 */
export { AttestationError, ATTESTATION_ERROR_CODES, type AttestationErrorCode } from './attestationError.ts';
export {
  attestationCoreConfig,
  attestationCoreShape,
  parseAttestationServiceConfig,
  verifierConfigSchema,
  TOKEN_BROKER_DEFAULTS,
  DEFAULT_RVPS_ADDRESS,
  MAX_MINUTES,
  type AttestationServiceConfig,
  type TokenBrokerConfig,
  type TokenSignerConfig,
  type RvpsConfig,
  type StorageType,
} from './config.ts';
export {
  createAttestationService,
  MAX_VERIFICATION_REQUESTS,
  MAX_ANNOTATED_EVIDENCE_BYTES,
  MAX_TOKEN_CLAIMS_BYTES,
  type AttestationService,
  type AttestationServiceDeps,
  type EvaluateOptions,
} from './attestationService.ts';
export { expectedReportData, HASH_ALGORITHMS, type HashAlgorithm, type RuntimeDataInput, type ExpectedReportData } from './expectedReportData.ts';
export { expectedInitData, parseInitDataToml, transformInitDataClaims, type InitDataInput, type ExpectedInitData } from './initData.ts';
export { transformClaims, type TransformClaimsInput } from './transformClaims.ts';
export {
  TRUST_CLAIM_NAMES,
  tierOf,
  statusOf,
  parseTrustClaims,
  parseExtensions,
  type TrustClaimName,
  type TrustVector,
  type EarStatus,
  type AppraisalExtension,
} from './trustVector.ts';
export { buildEar, type SubmodAppraisal } from './token/buildEar.ts';
export { SIGNING_KEY_NAMESPACE, SIGNING_KEY_NAME, type SignerJwk } from './token/tokenSigner.ts';
export { POLICY_NAMESPACE, assertPolicyId } from './policy/policyStore.ts';
export { DEFAULT_POLICY_IDS, defaultPolicies } from './policy/defaultPolicies.ts';
export { QUERY_REFERENCE_VALUE } from './policy/evaluateAppraisalPolicy.ts';
export { collateralFromVerifierConfig, type VerifierCollateralDeps } from './verifierCollateral.ts';
export { verifiersFromTrustAnchorConfig } from './verifierTrustAnchors.ts';
export { parseNvidiaVerifierConfig, type NvidiaVerifierConfig } from './nvidiaVerifierTable.ts';
export { nvidiaVerifierFromConfig } from './nvidiaVerifierConfig.ts';
