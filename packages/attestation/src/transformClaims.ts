import { AttestationError } from './attestationError.ts';
import { isJsonObject, jsonKind, own, setOwn, type Json, type JsonObject } from '@trustee/protocol';

export interface TransformClaimsInput {
  readonly tee: string;
  /** The verifier's claims (never mutated). */
  readonly claims: JsonObject;
  readonly initDataClaims: Json;
  readonly runtimeDataClaims: Json;
  readonly verboseToken: boolean;
}

/**
 * Upstream's `transform_claims` (trustee `attestation-service/src/utils.rs`): the verifier's
 * `init_data` and `report_data` move to the top level next to the parsed init-data / runtime-data
 * claims, and every other claim sits under the TEE's name. The result is both the policy `input`
 * and the token's `ear.veraison.annotated-evidence`; its top-level keys are sorted like upstream's
 * BTreeMap.
 */
export function transformClaims(input: TransformClaimsInput): JsonObject {
  const teeClaims: JsonObject = {};
  const top: JsonObject = {};
  for (const [key, value] of Object.entries(input.claims)) {
    if (key === 'init_data' || key === 'report_data') continue;
    setOwn(teeClaims, key, value);
  }
  const initData = own(input.claims, 'init_data');
  if (initData !== undefined) {
    if (typeof initData !== 'string') throw new AttestationError('verification_failed', `verifier claim init_data must be a string, found ${jsonKind(initData)}`);
    top.init_data = initData;
    top.init_data_claims = input.initDataClaims;
  }
  const reportData = own(input.claims, 'report_data');
  if (reportData !== undefined) {
    if (typeof reportData !== 'string') throw new AttestationError('verification_failed', `verifier claim report_data must be a string, found ${jsonKind(reportData)}`);
    top.report_data = reportData;
    let runtimeDataClaims = input.runtimeDataClaims;
    // Verbose device evidence can push a Bearer token past HTTP header limits; upstream's
    // `verbose_token = false` exists for that and drops only this member.
    if (!input.verboseToken && isJsonObject(runtimeDataClaims) && Object.hasOwn(runtimeDataClaims, 'additional-evidence')) {
      runtimeDataClaims = { ...runtimeDataClaims };
      delete runtimeDataClaims['additional-evidence'];
    }
    top.runtime_data_claims = runtimeDataClaims;
  }
  setOwn(top, input.tee, teeClaims);
  const sorted: JsonObject = {};
  for (const key of Object.keys(top).sort()) setOwn(sorted, key, top[key] as Json);
  return sorted;
}
