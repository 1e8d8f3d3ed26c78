import { runtimeDataDigest, type Json, type RuntimeDataHashAlgorithm, type RuntimeDataInput } from '@trustee/protocol';
import { AttestationError } from './attestationError.ts';

export type HashAlgorithm = RuntimeDataHashAlgorithm;
export type { RuntimeDataInput };
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha384', 'sha512'];

export interface ExpectedReportData {
  /** What the evidence must carry; `undefined` when no runtime data was supplied (not checked). */
  readonly reportData: Uint8Array | undefined;
  /** The structured runtime data (policy input `runtime_data_claims`), or `null`. */
  readonly runtimeDataClaims: Json;
}

/**
 * Runtime data → expected report data (upstream trustee `attestation-service/src/lib.rs`):
 * structured data is hashed as H(JCS(x)); raw data is used as is. Upstream's docs say raw data is
 * "accumulated into a digest"; its code does not hash it, and clients rely on the code.
 */
export function expectedReportData(runtimeData: RuntimeDataInput | undefined, algorithm: string = 'sha384'): ExpectedReportData {
  if (runtimeData === undefined) return { reportData: undefined, runtimeDataClaims: null };
  if ('raw' in runtimeData) {
    if (!(runtimeData.raw instanceof Uint8Array)) throw new AttestationError('invalid_request', 'raw runtime data must be bytes');
    return { reportData: runtimeData.raw, runtimeDataClaims: null };
  }
  if (!(HASH_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new AttestationError('invalid_request', `unsupported runtime data hash algorithm ${JSON.stringify(algorithm)} (sha256, sha384, sha512)`);
  }
  let reportData: Uint8Array;
  try {
    reportData = runtimeDataDigest(runtimeData.structured, algorithm as HashAlgorithm);
  } catch (error) {
    throw new AttestationError('invalid_request', `structured runtime data cannot be canonicalised: ${(error as Error).message}`, { cause: error });
  }
  return { reportData, runtimeDataClaims: runtimeData.structured };
}
