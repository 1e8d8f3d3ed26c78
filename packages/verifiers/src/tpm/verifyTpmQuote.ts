import { createHash, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { toHex } from '../binary/encoding.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import { parseTpmsAttest, TPM_ALG_SHA256, type TpmsAttest } from './tpmsAttest.ts';

/** A vTPM quote as the Azure attesters send it: the signed TPMS_ATTEST, its signature and the PCR values. */
export interface TpmQuote {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  /** SHA-256 PCR values in the order the quote's selection lists them. */
  readonly pcrs: readonly Uint8Array[];
}

export interface VerifiedTpmQuote {
  readonly attest: TpmsAttest;
  /** PCR index → value, for the PCRs the quote selected (SHA-256 bank). */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
}

/** The PCR into which the Azure/TPM guests measure the init-data digest. */
export const INIT_DATA_PCR = 8;

/**
 * Checks a vTPM quote: RSASSA-PKCS1-v1_5/SHA-256 signature by `akPublicKey` (what the Azure vTPM AK
 * produces), `extraData == expectedNonce` exactly (when a nonce is given), the SHA-256 bank
 * selection and `pcrDigest == SHA-256(pcr values in order)`. Collects every failed check.
 *
 * Unlike upstream (which names PCRs by their position in the list), the values are mapped to the
 * indices the signed selection names, so a quote over another selection cannot pose as PCRs 0..n.
 *
 * @example
 * const { attest, pcrs } = verifyTpmQuote(quote, akPublicKey, expectedReportData);
 */
export function verifyTpmQuote(quote: TpmQuote, akPublicKey: KeyObject, expectedNonce: Uint8Array | undefined): VerifiedTpmQuote {
  const attest = parseTpmsAttest(quote.message);
  const failures: FailedCheck[] = [];

  let signatureOk = false;
  try {
    signatureOk = cryptoVerify('sha256', quote.message, akPublicKey, quote.signature);
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) {
    failures.push({ check: 'tpm_quote.signature', message: 'vTPM quote is not signed by the attestation key (AK)' });
  }

  if (expectedNonce !== undefined && !constantTimeEqual(attest.extraData, expectedNonce)) {
    failures.push({
      check: 'tpm_quote.nonce',
      message: 'TPM quote nonce (extraData) does not match the expected report data',
      expected: toHex(expectedNonce),
      found: toHex(attest.extraData),
    });
  }

  const selected = attest.pcrSelections.filter((selection) => selection.pcrs.length > 0);
  const otherBanks = selected.filter((selection) => selection.hashAlg !== TPM_ALG_SHA256);
  if (otherBanks.length > 0 || selected.length > 1) {
    failures.push({
      check: 'tpm_quote.pcr_selection',
      message: 'only a single SHA-256 PCR bank selection is supported',
      expected: 'sha256',
      found: attest.pcrSelections.map((s) => `0x${s.hashAlg.toString(16)}:[${s.pcrs.join(',')}]`).join(' '),
    });
  }
  const indices = selected[0]?.pcrs ?? [];
  if (quote.pcrs.length !== indices.length) {
    failures.push({
      check: 'tpm_quote.pcr_count',
      message: 'number of PCR values differs from the quote selection',
      expected: String(indices.length),
      found: String(quote.pcrs.length),
    });
  }
  const badLength = quote.pcrs.findIndex((pcr) => pcr.byteLength !== 32);
  if (badLength !== -1) {
    failures.push({ check: 'tpm_quote.pcr_length', message: `PCR value #${badLength} is not 32 bytes`, expected: '32', found: String(quote.pcrs[badLength]?.byteLength) });
  }
  const hash = createHash('sha256');
  for (const pcr of quote.pcrs) hash.update(pcr);
  const digest = hash.digest();
  if (!constantTimeEqual(digest, attest.pcrDigest)) {
    failures.push({ check: 'tpm_quote.pcr_digest', message: 'digest of the PCR values does not match the quote', expected: toHex(attest.pcrDigest), found: toHex(digest) });
  }

  if (failures.length > 0) throw new VerificationError('verification_failed', failures);
  const pcrs = new Map<number, Uint8Array>();
  indices.forEach((index, position) => {
    const value = quote.pcrs[position];
    if (value !== undefined) pcrs.set(index, value);
  });
  return { attest, pcrs };
}

/**
 * The init-data rule of the vTPM verifiers: `PCR8 == SHA-256(32 zero bytes ‖ digest)`; the digest
 * must be 32 bytes (upstream panics otherwise; here it is a typed failure).
 */
export function checkInitDataPcr(pcrs: ReadonlyMap<number, Uint8Array>, initDataDigest: Uint8Array | undefined, prefix: string): FailedCheck[] {
  if (initDataDigest === undefined) return [];
  if (initDataDigest.byteLength !== 32) {
    return [{ check: `${prefix}.init_data`, message: 'the init-data digest must be 32 bytes (sha256) for a vTPM', expected: '32 bytes', found: `${initDataDigest.byteLength} bytes` }];
  }
  const pcr = pcrs.get(INIT_DATA_PCR);
  const expected = createHash('sha256').update(new Uint8Array(32)).update(initDataDigest).digest();
  if (pcr === undefined) {
    return [{ check: `${prefix}.init_data`, message: `PCR${INIT_DATA_PCR} is not in the quote`, expected: toHex(expected), found: 'absent' }];
  }
  if (!constantTimeEqual(pcr, expected)) {
    return [{ check: `${prefix}.init_data`, message: `PCR${INIT_DATA_PCR} does not match SHA-256(0^32 ‖ init-data digest)`, expected: toHex(expected), found: toHex(pcr) }];
  }
  return [];
}

/** `tpm` claims as upstream names them: `pcr00` … `pcr23`, lower-case hex. */
export function pcrClaims(pcrs: ReadonlyMap<number, Uint8Array>): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [index, value] of [...pcrs.entries()].sort(([a], [b]) => a - b)) {
    claims[`pcr${String(index).padStart(2, '0')}`] = toHex(value);
  }
  return claims;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
