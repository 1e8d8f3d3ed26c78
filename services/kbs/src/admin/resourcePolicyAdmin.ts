/**
 * `POST /kbs/v0/resource-policy` (`{"policy": b64url-nopad Rego}`, syntax-checked before it is
 * stored) and `GET /kbs/v0/resource-policy` (the JSON array of policy ids, as upstream trustee
 * `kbs/src/api_server.rs`).
 */
import { kbsErrors, type KbsError } from '../errors.ts';
import type { ResourcePolicy } from '../resourcePolicy.ts';
import { decodePolicyText } from './policyBody.ts';

/** The KBS error for a body that is not JSON. */
export const resourcePolicyBodyNotJson = (message: string): KbsError => kbsErrors.parsePolicy(`invalid JSON: ${message}`);

/** JSON schema of the body: what `parseResourcePolicyBody` checks of its shape, no more (the route's fast gate). */
export const RESOURCE_POLICY_BODY_SCHEMA = { type: 'object', required: ['policy'], properties: { policy: { type: 'string' } } } as const;

/** The uploaded policy text, or upstream's error for the body. */
export function parseResourcePolicyBody(json: unknown): string {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw kbsErrors.parsePolicy('body must be a JSON object');
  let source: string;
  try {
    source = decodePolicyText((json as Record<string, unknown>)['policy']);
  } catch (error) {
    throw kbsErrors.parsePolicy((error as Error).message);
  }
  return source;
}

export async function handleSetResourcePolicy(source: string, policy: ResourcePolicy): Promise<void> {
  await policy.set(source);
}

export async function handleListResourcePolicies(policy: ResourcePolicy): Promise<string> {
  return JSON.stringify(await policy.list());
}
