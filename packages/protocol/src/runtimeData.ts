/**
 * Runtime-data binding: the primary attester gets
 * H(JCS({"tee-pubkey", "nonce", "additional-evidence"})) and every device attester
 * H(JCS({"nonce", "tee-pubkey"})). The `additional-evidence` member is always present in the
 * primary runtime data, even when empty.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonicalJson.ts';
import type { TeePubKey } from './teePubKey.ts';

export type RuntimeHashAlgorithm = 'sha256' | 'sha384' | 'sha512' | 'sm3';

/** The negotiated hash when the challenge does not select one. */
export const DEFAULT_RUNTIME_HASH: RuntimeHashAlgorithm = 'sha384';

/** H(JCS(runtimeData)). */
export function runtimeDataDigest(runtimeData: unknown, alg: RuntimeHashAlgorithm): Uint8Array {
  return new Uint8Array(createHash(alg).update(canonicalJson(runtimeData), 'utf8').digest());
}

/** Runtime data bound into the primary evidence. */
export function primaryRuntimeData(nonce: string, teePubKey: TeePubKey, additionalEvidence: string): { 'tee-pubkey': TeePubKey; nonce: string; 'additional-evidence': string } {
  return { 'tee-pubkey': teePubKey, nonce, 'additional-evidence': additionalEvidence };
}

/** Runtime data bound into each device (additional) evidence. */
export function deviceRuntimeData(nonce: string, teePubKey: TeePubKey): { nonce: string; 'tee-pubkey': TeePubKey } {
  return { nonce, 'tee-pubkey': teePubKey };
}
