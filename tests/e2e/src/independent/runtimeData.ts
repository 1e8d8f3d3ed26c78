/**
 * The runtime-data → report_data binding of upstream trustee `kbs/src/attestation/backend.rs`,
 * built by hand from JCS and node:crypto hashes, plus the `sample` evidence that carries it
 * (guest-components `attestation-agent/attester/src/sample/mod.rs`).
 */
import { createHash } from 'node:crypto';
import { b64stdEncode } from './base64.ts';
import { jcs, type Json } from './jcs.ts';
import type { TeePubKeyJwk } from './teeKey.ts';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export function primaryRuntimeData(nonce: string, teePubKey: TeePubKeyJwk, additionalEvidence: string): string {
  return jcs({ 'tee-pubkey': teePubKey as unknown as Json, nonce, 'additional-evidence': additionalEvidence });
}

export function deviceRuntimeData(nonce: string, teePubKey: TeePubKeyJwk): string {
  return jcs({ nonce, 'tee-pubkey': teePubKey as unknown as Json });
}

export function digest(text: string, hash: HashName): Buffer {
  return createHash(hash).update(text, 'utf8').digest();
}

/** `sample` evidence whose report_data is the standard base64 of the raw digest, unpadded to 64. */
export function sampleEvidence(reportData: Uint8Array): { svn: string; report_data: string } {
  return { svn: '1', report_data: b64stdEncode(reportData) };
}
