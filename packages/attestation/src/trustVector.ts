/**
 * AR4SI trust vectors (draft-ietf-rats-ar4si) as trustee's policies produce them, and the
 * `ear.status` tier derived from them (upstream trustee
 * `attestation-service/src/ear_token/broker.rs`).
 */
import { AttestationError } from './attestationError.ts';
import { isJsonObject, jsonKind, type Json } from '@trustee/protocol';

/** Claim names in the order the ear crate serialises the vector. */
export const TRUST_CLAIM_NAMES = [
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] as const;
export type TrustClaimName = (typeof TRUST_CLAIM_NAMES)[number];

/** Only the claims the policy set; values are i8. */
export type TrustVector = Partial<Record<TrustClaimName, number>>;

export type EarStatus = 'none' | 'affirming' | 'warning' | 'contraindicated';
const STATUS_RANK: Readonly<Record<EarStatus, number>> = { none: 0, affirming: 1, warning: 2, contraindicated: 3 };

/** AR4SI tier of one claim value: −1..1 none, −32..31 affirming, −96..95 warning, else contraindicated. */
export function tierOf(value: number): EarStatus {
  if (value >= -1 && value <= 1) return 'none';
  if (value >= -32 && value <= 31) return 'affirming';
  if (value >= -96 && value <= 95) return 'warning';
  return 'contraindicated';
}

/** The worst tier over every claim that is set (`none` for an empty vector). */
export function statusOf(vector: TrustVector): EarStatus {
  let status: EarStatus = 'none';
  for (const name of TRUST_CLAIM_NAMES) {
    const value = vector[name];
    if (value === undefined) continue;
    const tier = tierOf(value);
    if (STATUS_RANK[tier] > STATUS_RANK[status]) status = tier;
  }
  return status;
}

/** The vector used when a policy defines no `trust_claims` rule: every claim set to 0. */
export function zeroTrustVector(): TrustVector {
  return Object.fromEntries(TRUST_CLAIM_NAMES.map((name) => [name, 0])) as TrustVector;
}

const I64_LIMIT = 2 ** 63;

/**
 * Interprets the value of `data.policy.trust_claims` like upstream, except that an unknown claim
 * name is a typed error where the Rust AS panics. Values must be integers and are cast to i8
 * with two's-complement wrap-around (`as i8`: 200 → −56), which upstream does silently.
 *
 * @param value the rule's value; `undefined` means the rule is defined but evaluated to undefined.
 */
export function parseTrustClaims(value: Json | undefined, policyId: string): TrustVector {
  if (!isJsonObject(value)) {
    throw new AttestationError('invalid_policy_result', `policy ${policyId}: Trust claims is not an object (found ${jsonKind(value)})`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new AttestationError('invalid_policy_result', `policy ${policyId}: At least one policy claim must be set.`);
  const vector: TrustVector = {};
  for (const [name, claim] of entries) {
    if (!(TRUST_CLAIM_NAMES as readonly string[]).includes(name)) {
      throw new AttestationError('invalid_policy_result', `policy ${policyId}: unknown trust claim ${JSON.stringify(name)} (expected one of ${TRUST_CLAIM_NAMES.join(', ')})`);
    }
    if (typeof claim !== 'number' || !Number.isInteger(claim) || claim >= I64_LIMIT || claim < -I64_LIMIT) {
      throw new AttestationError('invalid_policy_result', `policy ${policyId}: trust claim ${name} must be an integer, found ${jsonKind(claim)}`);
    }
    vector[name as TrustClaimName] = Number(BigInt.asIntN(8, BigInt(claim)));
  }
  return vector;
}

/** One appraisal extension (`ear.trustee.identifiers`, …) requested by the policy. */
export interface AppraisalExtension {
  readonly name: string;
  readonly key: number;
  readonly value: Json;
}

/** Members of an appraisal an extension may not shadow. */
const RESERVED_APPRAISAL_MEMBERS = new Set(['ear.status', 'ear.trustworthiness-vector', 'ear.appraisal-policy-id', 'ear.veraison.annotated-evidence', 'ear.veraison.policy-claims']);

/**
 * Interprets `data.policy.extensions`: a list of `{name: string, key: i32, value: any}`;
 * duplicate names or keys are errors (the ear crate refuses to register them twice).
 */
export function parseExtensions(value: Json | undefined, policyId: string): AppraisalExtension[] {
  const fail = (message: string): never => {
    throw new AttestationError('invalid_policy_result', `policy ${policyId}: extensions ${message}`);
  };
  if (!Array.isArray(value)) return fail(`must be an array, found ${jsonKind(value)}`);
  const extensions: AppraisalExtension[] = [];
  const names = new Set<string>();
  const keys = new Set<number>();
  value.forEach((entry, index) => {
    if (!isJsonObject(entry)) return fail(`[${index}] must be an object, found ${jsonKind(entry)}`);
    const name = Object.hasOwn(entry, 'name') ? entry.name : undefined;
    const key = Object.hasOwn(entry, 'key') ? entry.key : undefined;
    const extensionValue = Object.hasOwn(entry, 'value') ? entry.value : undefined;
    if (typeof name !== 'string' || name.length === 0) return fail(`[${index}].name must be a non-empty string`);
    if (typeof key !== 'number' || !Number.isInteger(key) || key < -(2 ** 31) || key >= 2 ** 31) return fail(`[${index}].key must be a 32-bit integer`);
    if (extensionValue === undefined) return fail(`[${index}].value is missing`);
    if (RESERVED_APPRAISAL_MEMBERS.has(name)) return fail(`[${index}].name ${JSON.stringify(name)} is reserved`);
    if (names.has(name)) return fail(`[${index}]: duplicate name ${JSON.stringify(name)}`);
    if (keys.has(key)) return fail(`[${index}]: duplicate key ${key}`);
    names.add(name);
    keys.add(key);
    extensions.push({ name, key, value: extensionValue });
  });
  return extensions;
}
