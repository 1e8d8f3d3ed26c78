/**
 * Runs an appraisal policy against one submod's claims (upstream trustee
 * `attestation-service/src/ear_token/broker.rs`, `deps/policy-engine/src/policy/rego.rs`).
 *
 * The Rego engine's host functions are synchronous, reference values are not (a store or a
 * remote RVPS). We therefore evaluate with a host function that answers from a per-evaluation
 * memo and records ids it has not seen; if any were asked for, we fetch them and evaluate
 * again, until an evaluation completes without new ids. The final evaluation has seen every
 * value it asked for, so the result equals upstream's call-through semantics (an absent value
 * is `null`). Ids asked for last time by the same policy and TEE are fetched up front, so the
 * steady state is one evaluation.
 */
import { compilePolicy, RegoError, type CompiledPolicy, type HostFunction, type RegoJson } from '@trustee/rego';
import { AttestationError } from '../attestationError.ts';
import type { Json, JsonObject } from '@trustee/protocol';
import { ReferenceValueError, type CallContext, type ReferenceValueProvider } from '@trustee/rvps-core';
import { parseExtensions, parseTrustClaims, zeroTrustVector, type AppraisalExtension, type TrustVector } from '../trustVector.ts';

export const QUERY_REFERENCE_VALUE = 'query_reference_value';
/** Bounds the fetch/re-evaluate loop on policies whose ids depend on fetched values. */
const MAX_ROUNDS = 8;
/** Bounds reference-value lookups per evaluation (upstream's default SNP path uses ~11). */
const MAX_REFERENCE_VALUES = 256;
/** Upstream's RVPS call timeout. */
export const REFERENCE_VALUE_TIMEOUT_MS = 10_000;
const MAX_REMEMBERED_PROFILES = 512;
/** Policy ids whose compiled form is kept per evaluator (a handful of ids × TEE classes in practice). */
const MAX_COMPILED_POLICIES = 64;

export interface AppraisalResult {
  readonly trustVector: TrustVector;
  readonly extensions: AppraisalExtension[];
  /** True when the policy has no `trust_claims` rule (upstream: warning, all claims 0). */
  readonly trustClaimsUndefined: boolean;
}

export interface PolicyEvaluator {
  /** `requestId`: the attestation request's, sent on with each reference value query (a remote RVPS logs it). */
  evaluate(args: { policyId: string; source: string; input: JsonObject; profile: string; requestId?: string | undefined }): Promise<AppraisalResult>;
}

const placeholderHostFunctions: Readonly<Record<string, HostFunction>> = { [QUERY_REFERENCE_VALUE]: () => null };

export function createPolicyEvaluator(rvps: ReferenceValueProvider): PolicyEvaluator {
  /** policy hash + TEE → ids asked for last time. */
  const remembered = new Map<string, readonly string[]>();
  /**
   * Policy id → its last text and that text compiled. The caller reads the text from the policy
   * store on every evaluation (another worker or replica may have replaced it through the admin
   * API), so a changed text is compiled at its first use; an unchanged one (compared in full,
   * not hashed) skips the engine's per-call hashing and keeps its parsed rule references.
   */
  const compiledPolicies = new Map<string, { readonly source: string; readonly compiled: CompiledPolicy }>();
  function compiledFor(policyId: string, source: string): CompiledPolicy {
    const cached = compiledPolicies.get(policyId);
    if (cached !== undefined && cached.source === source) return cached.compiled;
    const compiled = compilePolicy([{ name: `${policyId}.rego`, source }], { hostFunctions: placeholderHostFunctions });
    if (cached === undefined && compiledPolicies.size >= MAX_COMPILED_POLICIES) {
      const oldest = compiledPolicies.keys().next();
      if (oldest.done !== true) compiledPolicies.delete(oldest.value);
    }
    compiledPolicies.set(policyId, { source, compiled });
    return compiled;
  }

  async function fetchInto(values: Map<string, Json>, ids: Iterable<string>, context: CallContext): Promise<void> {
    const pending = [...ids].filter((id) => !values.has(id));
    const fetched = await Promise.all(pending.map((id) => queryWithTimeout(rvps, id, context)));
    pending.forEach((id, index) => values.set(id, fetched[index] ?? null));
  }

  return {
    async evaluate({ policyId, source, input, profile, requestId }) {
      const context: CallContext = { requestId };
      let compiled: CompiledPolicy;
      try {
        compiled = compiledFor(policyId, source);
      } catch (error) {
        throw regoFailure(error, policyId, 'invalid_policy');
      }
      const profileKey = `${compiled.hash}\u0000${profile}`;
      const values = new Map<string, Json>();
      await fetchInto(values, remembered.get(profileKey) ?? [], context);

      for (let round = 0; ; round++) {
        const missing = new Set<string>();
        const hostFunctions: Record<string, HostFunction> = {
          [QUERY_REFERENCE_VALUE]: (args) => {
            const id = args[0];
            if (args.length !== 1 || typeof id !== 'string') throw new Error('query_reference_value expects one string argument');
            const value = values.get(id);
            if (value !== undefined) return value as RegoJson;
            missing.add(id);
            return null;
          },
        };
        let trustClaims: RegoJson | undefined;
        let extensions: RegoJson | undefined;
        let failure: unknown;
        try {
          trustClaims = compiled.evaluateRule('data.policy.trust_claims', { input: input as RegoJson, hostFunctions });
          extensions = compiled.evaluateRule('data.policy.extensions', { input: input as RegoJson, hostFunctions });
        } catch (error) {
          failure = error;
        }
        if (missing.size > 0) {
          // A round that lacked values may fail or take other branches; only a complete round counts.
          if (round + 1 >= MAX_ROUNDS || values.size + missing.size > MAX_REFERENCE_VALUES) {
            throw new AttestationError('policy_evaluation_failed', `policy ${policyId}: too many reference value lookups`);
          }
          await fetchInto(values, missing, context);
          continue;
        }
        if (failure !== undefined) throw regoFailure(failure, policyId, 'policy_evaluation_failed');
        rememberProfile(remembered, profileKey, [...values.keys()]);

        const trustClaimsUndefined = trustClaims === undefined && !definesRule(compiled, source, 'trust_claims');
        const extensionsUndefined = extensions === undefined && !definesRule(compiled, source, 'extensions');
        return {
          trustVector: trustClaimsUndefined ? zeroTrustVector() : parseTrustClaims(trustClaims as Json | undefined, policyId),
          extensions: extensionsUndefined ? [] : parseExtensions(extensions as Json | undefined, policyId),
          trustClaimsUndefined,
        };
      }
    },
  };
}

async function queryWithTimeout(rvps: ReferenceValueProvider, id: string, context: CallContext): Promise<Json | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AttestationError('rvps_error', `reference value query for ${JSON.stringify(id)} timed out`)), REFERENCE_VALUE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([rvps.query(id, context), timeout]);
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    // The RVPS's codes are a subset of ours: a remote RVPS's own failure stays `rvps_failed`, an outage `rvps_error`.
    if (error instanceof ReferenceValueError) throw new AttestationError(error.code, error.message, { cause: error });
    throw new AttestationError('rvps_error', `reference value query for ${JSON.stringify(id)} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

function rememberProfile(remembered: Map<string, readonly string[]>, key: string, ids: string[]): void {
  if (!remembered.has(key) && remembered.size >= MAX_REMEMBERED_PROFILES) {
    const oldest = remembered.keys().next();
    if (oldest.done !== true) remembered.delete(oldest.value);
  }
  remembered.set(key, ids);
}

/**
 * Whether the policy defines a rule at all: upstream distinguishes "no such rule" (all claims 0)
 * from "rule evaluated to undefined" (error). The engine's `hasRule` answers when it has one;
 * otherwise a rule head at the start of a line decides.
 */
function definesRule(compiled: CompiledPolicy, source: string, name: string): boolean {
  const withHasRule = compiled as CompiledPolicy & { hasRule?: (ref: string) => boolean };
  if (typeof withHasRule.hasRule === 'function') return withHasRule.hasRule(`data.policy.${name}`);
  return new RegExp(`^[ \\t]*(?:default[ \\t]+)?${name}(?![A-Za-z0-9_])`, 'm').test(source);
}

function regoFailure(error: unknown, policyId: string, code: 'invalid_policy' | 'policy_evaluation_failed'): AttestationError {
  if (error instanceof AttestationError) return error;
  if (error instanceof RegoError) {
    const effective = error.code.startsWith('rego_') ? 'invalid_policy' : code;
    return new AttestationError(effective, `policy ${policyId}: ${error.message}`, { cause: error });
  }
  return new AttestationError(code, `policy ${policyId}: ${(error as Error).message ?? String(error)}`, { cause: error });
}
