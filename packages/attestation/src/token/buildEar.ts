/**
 * The EAR claim set (draft-ietf-rats-ear as serialised by veraison's ear crate 0.5 for trustee;
 * upstream `attestation-service/docs/example.token.json`). Member order is the crate's:
 * `eat_profile`, `iat`, `ear.verifier-id`, `submods` (sorted by name, a BTreeMap), `exp`, `iss`;
 * inside an appraisal `ear.status`, `ear.trustworthiness-vector` (only claims that are set; omitted
 * when none), `ear.appraisal-policy-id`, `ear.veraison.annotated-evidence` (omitted when empty),
 * then the policy's extensions sorted by name.
 */
import { AttestationError } from '../attestationError.ts';
import type { TokenBrokerConfig } from '../config.ts';
import { setOwn, type Json, type JsonObject } from '@trustee/protocol';
import { statusOf, TRUST_CLAIM_NAMES, type AppraisalExtension, type TrustVector } from '../trustVector.ts';

export interface SubmodAppraisal {
  /** `cpu0`, `gpu0`, … */
  readonly name: string;
  readonly trustVector: TrustVector;
  /** `policy_ids[0]` (e.g. `default`), not the per-class policy name. */
  readonly appraisalPolicyId: string;
  readonly annotatedEvidence: JsonObject;
  readonly extensions: readonly AppraisalExtension[];
}

export function buildEar(config: TokenBrokerConfig, issuedAt: Date, submods: readonly SubmodAppraisal[]): JsonObject {
  const iat = Math.floor(issuedAt.getTime() / 1000);
  // The ear crate validates these at serialisation; an empty value fails every attestation.
  if (config.profileName.length === 0) throw new AttestationError('token_issue_failed', 'EAR profile (profile_name) must not be empty');
  if (config.buildName.length === 0) throw new AttestationError('token_issue_failed', 'EAR verifier-id build (build_name) must not be empty');
  if (config.developerName.length === 0) throw new AttestationError('token_issue_failed', 'EAR verifier-id developer (developer_name) must not be empty');
  if (iat === 0) throw new AttestationError('token_issue_failed', 'EAR iat must not be 0');
  if (submods.length === 0) throw new AttestationError('token_issue_failed', 'EAR must contain at least one submod');

  const submodObject: JsonObject = {};
  for (const submod of [...submods].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (Object.hasOwn(submodObject, submod.name)) throw new AttestationError('token_issue_failed', `duplicate submod ${submod.name}`);
    setOwn(submodObject, submod.name, buildAppraisal(submod));
  }
  return {
    eat_profile: config.profileName,
    iat,
    'ear.verifier-id': { developer: config.developerName, build: config.buildName },
    submods: submodObject,
    exp: iat + config.durationMin * 60,
    iss: config.issuerName,
  };
}

function buildAppraisal(submod: SubmodAppraisal): JsonObject {
  const appraisal: JsonObject = { 'ear.status': statusOf(submod.trustVector) };
  const vector: JsonObject = {};
  for (const name of TRUST_CLAIM_NAMES) {
    const value = submod.trustVector[name];
    if (value !== undefined) vector[name] = value;
  }
  if (Object.keys(vector).length > 0) appraisal['ear.trustworthiness-vector'] = vector;
  appraisal['ear.appraisal-policy-id'] = submod.appraisalPolicyId;
  if (Object.keys(submod.annotatedEvidence).length > 0) appraisal['ear.veraison.annotated-evidence'] = submod.annotatedEvidence;
  const extensions = [...submod.extensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const extension of extensions) setOwn(appraisal, extension.name, extension.value as Json);
  return appraisal;
}
