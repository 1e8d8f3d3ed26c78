/**
 * The attestation service core (upstream trustee `attestation-service/src/lib.rs`): verify every
 * piece of evidence, appraise each resulting claim set with `<policy_ids[0]>_<tee class>`, and sign
 * one EAR token.
 */
import { getVerifier, VerificationError, type CollateralSource, type TeeClass, type TeeName, type VerifiedClaims, type Verifier } from '@trustee/verifiers';
import type { KeyValueStore } from '@trustee/storage';
import { AttestationError } from './attestationError.ts';
import type { AttestationServiceConfig } from './config.ts';
import { expectedInitData } from './initData.ts';
import { expectedReportData } from './expectedReportData.ts';
import type { Json, JsonObject, VerificationRequest } from '@trustee/protocol';
import { requestIdOf, silentLogger, type Logger } from '@trustee/log';
import { defaultPolicies, DEFAULT_POLICY_IDS } from './policy/defaultPolicies.ts';
import { createPolicyEvaluator } from './policy/evaluateAppraisalPolicy.ts';
import { createPolicyStore } from './policy/policyStore.ts';
import { createBuiltinRvps, type ReferenceValueProvider } from '@trustee/rvps-core';
import { buildEar, type SubmodAppraisal } from './token/buildEar.ts';
import { loadTokenSigner, type SignerJwk } from './token/tokenSigner.ts';
import { transformClaims } from './transformClaims.ts';
import { collateralFromVerifierConfig } from './verifierCollateral.ts';
import { verifiersFromTrustAnchorConfig } from './verifierTrustAnchors.ts';
import { nvidiaVerifierFromConfig } from './nvidiaVerifierConfig.ts';

export type { VerificationRequest };

export interface AttestationService {
  /**
   * Verifies every request, appraises each claim set with policy `${policyIds[0]}_${teeClass}`
   * and returns the signed EAR JWT. An empty `policyIds` means `["default"]` (what both upstream
   * transports do); extra ids are ignored like upstream. A bad appraisal still yields a token
   * (low trust values); any verifier failure throws.
   *
   * @throws AttestationError `invalid_request` | `invalid_init_data` | `unsupported_tee` |
   *   `verification_failed` | `collateral_unavailable` | `policy_not_found` | `invalid_policy` |
   *   `policy_evaluation_failed` | `invalid_policy_result` | `rvps_error` | `token_issue_failed` | `storage_error`
   */
  evaluate(requests: readonly VerificationRequest[], policyIds: readonly string[], options?: EvaluateOptions): Promise<string>;
  /** Syntax-checks and stores (overwrites) a policy; `invalid_policy` on bad Rego or id. */
  setPolicy(policyId: string, regoSource: string): Promise<void>;
  getPolicy(policyId: string): Promise<string | undefined>;
  /** Stored policy ids (the `.rego` suffix stripped), sorted. */
  listPolicies(): Promise<string[]>;
  deletePolicy(policyId: string): Promise<boolean>;
  /** Registers an RVPS message (JSON text `{"version","type","payload"}`); the RVPS's own ReferenceValueError on refusal. */
  registerReferenceValue(message: string): Promise<void>;
  queryReferenceValue(id: string): Promise<Json | undefined>;
  /** The token signer's JWKS, `{"keys":[jwk]}` — the same JWK as in every token header. */
  jwks(): JsonObject;
}

/** Per-call options of `evaluate`. */
export interface EvaluateOptions {
  /**
   * Where this call's lines go, instead of the service's logger: the caller's request logger (a
   * child carrying its `reqId`), so an in-process AS's lines name the request that caused them.
   */
  readonly log?: Logger;
}

export interface AttestationServiceDeps {
  readonly store: KeyValueStore;
  readonly config: AttestationServiceConfig;
  readonly now?: () => Date;
  /** Default: what `config.verifierConfig` describes (KDS / PCS / offline stores), cached in `store`. */
  readonly collateral?: CollateralSource;
  readonly log?: Logger;
  /**
   * Verifiers that replace the registry's for some TEEs, e.g. built with an operator's own trust
   * anchors (`createSnpVerifier({ trustAnchors })`) or, in tests, the test PKI's. They also win
   * over the verifiers `verifier_config.*.trust_anchors_path` configures.
   */
  readonly verifiers?: Partial<Record<TeeName, Verifier>>;
  /**
   * Reference values; default: the built-in RVPS over `store`. Pass a remote client for
   * `rvps_config.type = "GrpcRemote"` (the config's address is for the caller to dial).
   */
  readonly referenceValues?: ReferenceValueProvider;
}

/** Bounds one call: the KBS sends one primary evidence plus a handful of devices. */
export const MAX_VERIFICATION_REQUESTS = 64;

/**
 * Most bytes (JSON) of one submodule's `ear.veraison.annotated-evidence` — the claims, init-data
 * and runtime-data claims a token copies from the guest's input. A TDX appraisal with a full
 * CCEL event log stays well below; a padded evidence field does not reach a token.
 */
export const MAX_ANNOTATED_EVIDENCE_BYTES = 512 * 1024;
/** Most bytes (JSON) of all submodules' annotated evidence in one token. */
export const MAX_TOKEN_CLAIMS_BYTES = 1024 * 1024;

/**
 * Builds the service: loads or creates the signing key, stores the default policies unless
 * present, and wires the RVPS.
 *
 * @example
 * const as = await createAttestationService({ store: new MemoryStore(), config: parseAttestationServiceConfig({}, 'as') });
 * const token = await as.evaluate([{ tee: 'sample', evidence, runtimeData: { structured: runtimeData } }], ['default']);
 */
export async function createAttestationService(deps: AttestationServiceDeps): Promise<AttestationService> {
  const { store, config } = deps;
  const now = deps.now ?? (() => new Date());
  const serviceLog: Logger = deps.log ?? silentLogger;
  const collateral = deps.collateral ?? collateralFromVerifierConfig(config.verifierConfig, { store, now });
  // Operator-pinned roots from verifier_config; verifiers passed by the caller win over them.
  const nvidia = await nvidiaVerifierFromConfig(config.verifierConfig, deps.log);
  const verifiers = { ...(await verifiersFromTrustAnchorConfig(config.verifierConfig, deps.log)), ...(nvidia === undefined ? {} : { nvidia }), ...deps.verifiers };
  if (config.rvps.type === 'GrpcRemote' && deps.referenceValues === undefined) {
    throw new AttestationError('invalid_config', 'rvps_config.type = "GrpcRemote" needs a remote reference value provider from the caller');
  }
  const rvps = deps.referenceValues ?? createBuiltinRvps(store, { now });
  const policies = createPolicyStore(store);
  const evaluator = createPolicyEvaluator(rvps);
  const signer = await loadTokenSigner(config.tokenBroker.signer, store, serviceLog);
  const builtIns = defaultPolicies();
  for (const id of DEFAULT_POLICY_IDS) await policies.setDefault(id, builtIns[id]);

  async function verify(request: VerificationRequest, index: number): Promise<{ request: VerificationRequest; verified: VerifiedClaims[]; initDataClaims: Json; runtimeDataClaims: Json }> {
    const expectedReport = expectedReportData(request.runtimeData, request.runtimeDataHashAlgorithm ?? 'sha384');
    const expectedInit = expectedInitData(request.initData);
    let verified: VerifiedClaims[];
    try {
      const verifier = (Object.hasOwn(verifiers, request.tee) ? verifiers[request.tee] : undefined) ?? getVerifier(request.tee);
      verified = await verifier.evaluate(request.evidence, { reportData: expectedReport.reportData, initDataDigest: expectedInit.digest }, { now, collateral });
    } catch (error) {
      throw fromVerificationError(error, request.tee, index);
    }
    return { request, verified, initDataClaims: expectedInit.claims, runtimeDataClaims: expectedReport.runtimeDataClaims };
  }

  return {
    async evaluate(requests, policyIds, options = {}) {
      const log = options.log ?? serviceLog;
      if (!Array.isArray(requests) || requests.length === 0) throw new AttestationError('invalid_request', 'No verification requests provided.');
      if (requests.length > MAX_VERIFICATION_REQUESTS) throw new AttestationError('invalid_request', `at most ${MAX_VERIFICATION_REQUESTS} verification requests are accepted`);
      const policyId = policyIds[0] ?? 'default';
      if (policyIds.length > 1) log.warn(`attestation: ${policyIds.length} policy ids given, only the first (${policyId}) is used`);

      // Sequential like upstream: verifiers may share collateral caches and the first failure aborts.
      const results = [];
      for (const [index, request] of requests.entries()) results.push(await verify(request, index));

      const counters = new Map<TeeClass, number>();
      const submods: SubmodAppraisal[] = [];
      const sources = new Map<string, string>();
      let claimBytes = 0;
      for (const { request, verified, initDataClaims, runtimeDataClaims } of results) {
        for (const { teeClass, claims } of verified) {
          const index = counters.get(teeClass) ?? 0;
          counters.set(teeClass, index + 1);
          const classPolicyId = `${policyId}_${teeClass}`;
          let source = sources.get(classPolicyId);
          if (source === undefined) {
            source = await policies.get(classPolicyId);
            if (source === undefined) throw new AttestationError('policy_not_found', `Policy \`${classPolicyId}.rego\` not found`);
            sources.set(classPolicyId, source);
          }
          const input = transformClaims({ tee: request.tee, claims, initDataClaims, runtimeDataClaims, verboseToken: config.tokenBroker.verboseToken });
          const inputBytes = Buffer.byteLength(JSON.stringify(input));
          claimBytes += inputBytes;
          if (inputBytes > MAX_ANNOTATED_EVIDENCE_BYTES || claimBytes > MAX_TOKEN_CLAIMS_BYTES) {
            throw new AttestationError(
              'invalid_request',
              `the claims from ${request.tee} evidence are too large for a token (${inputBytes} bytes; at most ${MAX_ANNOTATED_EVIDENCE_BYTES} per submodule, ${MAX_TOKEN_CLAIMS_BYTES} per token)`,
            );
          }
          const appraisal = await evaluator.evaluate({ policyId: classPolicyId, source, input, profile: request.tee, requestId: requestIdOf(options.log) });
          if (appraisal.trustClaimsUndefined) log.warn(`attestation: policy ${classPolicyId} defines no trust_claims rule; every trust claim is 0`);
          submods.push({
            name: `${teeClass}${index}`,
            trustVector: appraisal.trustVector,
            appraisalPolicyId: policyId,
            annotatedEvidence: input,
            extensions: appraisal.extensions,
          });
        }
      }
      const ear = buildEar(config.tokenBroker, now(), submods);
      return signer.sign(new TextEncoder().encode(JSON.stringify(ear)));
    },
    setPolicy: (policyId, regoSource) => policies.set(policyId, regoSource),
    getPolicy: (policyId) => policies.get(policyId),
    listPolicies: () => policies.list(),
    deletePolicy: (policyId) => policies.delete(policyId),
    registerReferenceValue: (message) => rvps.register(message),
    queryReferenceValue: (id) => rvps.query(id),
    jwks: () => ({ keys: [signer.jwk as unknown as JsonObject] }),
  };
}

function fromVerificationError(error: unknown, tee: string, index: number): AttestationError {
  if (error instanceof AttestationError) return error;
  if (error instanceof VerificationError) {
    const code = error.code === 'unsupported' ? 'unsupported_tee' : error.code === 'collateral_unavailable' ? 'collateral_unavailable' : 'verification_failed';
    return new AttestationError(code, `verification request ${index} (${tee}): ${error.message}`, { cause: error });
  }
  return new AttestationError('verification_failed', `verification request ${index} (${tee}): verifier failed unexpectedly: ${(error as Error).message ?? String(error)}`, { cause: error });
}

export type { SignerJwk };
