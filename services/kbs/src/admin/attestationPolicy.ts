/**
 * `POST /kbs/v0/attestation-policy`: `{"policy_id", "policy": b64url-nopad Rego,
 * "type"?}` handed to the attestation service, which syntax-checks before storing. Every
 * failure is upstream's `Set Attestation Policy failed`.
 */
import type { AdminCredentials, AttestationBackend } from '../backends.ts';
import { kbsErrors, rethrowIfUnavailable, type KbsError } from '../errors.ts';
import { decodePolicyText } from './policyBody.ts';

const POLICY_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/** The KBS error for a body that is not JSON. */
export const attestationPolicyBodyNotJson = (message: string): KbsError => kbsErrors.setAttestationPolicyFailed(`invalid JSON: ${message}`);

/** JSON schema of the body: what `parseAttestationPolicyBody` checks of its shape, no more (the route's fast gate). */
export const ATTESTATION_POLICY_BODY_SCHEMA = {
  type: 'object',
  required: ['policy_id', 'policy'],
  properties: { policy_id: { type: 'string' }, policy: { type: 'string' } },
} as const;

export interface AttestationPolicyUpload {
  readonly policyId: string;
  readonly source: string;
}

/** The upload's id and policy text, or upstream's error for the body. */
export function parseAttestationPolicyBody(json: unknown): AttestationPolicyUpload {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw kbsErrors.setAttestationPolicyFailed('body must be a JSON object');
  const record = json as Record<string, unknown>;
  const policyId = record['policy_id'];
  if (typeof policyId !== 'string' || !POLICY_ID.test(policyId) || policyId.startsWith('.')) {
    throw kbsErrors.setAttestationPolicyFailed('`policy_id` must be 1-128 characters of [A-Za-z0-9_.-]');
  }
  const type = record['type'];
  if (type !== undefined && type !== 'rego') throw kbsErrors.setAttestationPolicyFailed('`type` must be "rego"');
  let source: string;
  try {
    source = decodePolicyText(record['policy']);
  } catch (error) {
    throw kbsErrors.setAttestationPolicyFailed((error as Error).message);
  }
  return { policyId, source };
}

export async function handleSetAttestationPolicy({ policyId, source }: AttestationPolicyUpload, attestation: AttestationBackend, credentials?: AdminCredentials): Promise<void> {
  try {
    await attestation.setPolicy(policyId, source, credentials);
  } catch (error) {
    rethrowIfUnavailable(error);
    throw kbsErrors.setAttestationPolicyFailed((error as Error).message);
  }
}
