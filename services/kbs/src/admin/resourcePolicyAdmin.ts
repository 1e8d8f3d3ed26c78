/**
 * `POST /kbs/v0/resource-policy` (`{"policy": b64url-nopad Rego}`, syntax-checked before it is
 * stored) and `GET /kbs/v0/resource-policy` (the JSON array of policy ids, spec §3.1).
 */
import { kbsErrors, parseJsonBody } from '../errors.ts';
import type { ResourcePolicy } from '../resourcePolicy.ts';
import { decodePolicyText } from './policyBody.ts';

export async function handleSetResourcePolicy(body: Uint8Array, policy: ResourcePolicy): Promise<void> {
  const json = parseJsonBody(body, (message) => kbsErrors.parsePolicy(`invalid JSON: ${message}`));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw kbsErrors.parsePolicy('body must be a JSON object');
  let source: string;
  try {
    source = decodePolicyText((json as Record<string, unknown>)['policy']);
  } catch (error) {
    throw kbsErrors.parsePolicy((error as Error).message);
  }
  await policy.set(source);
}

export async function handleListResourcePolicies(policy: ResourcePolicy): Promise<string> {
  return JSON.stringify(await policy.list());
}
