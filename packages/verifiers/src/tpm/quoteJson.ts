import { ByteReader } from '../binary/byteReader.ts';
import { fromHex } from '../binary/encoding.ts';
import { bytesFromJsonArray, objectFromJson, stringFromJson } from '../binary/jsonBytes.ts';
import { VerificationError } from '../verificationError.ts';
import type { TpmQuote } from './verifyTpmQuote.ts';

/** At most this many PCR values are accepted (a TPM has 24 per bank). */
const MAX_PCRS = 24;

/** `tpm_quote` of v1/v2 Azure evidence: `{signature: hex, message: hex, pcrs: [hex]}`. */
export function parseVtpmQuoteJson(value: unknown, field = 'tpm_quote'): TpmQuote {
  const quote = objectFromJson(value, field);
  const pcrs = pcrList(quote['pcrs'], `${field}.pcrs`).map((pcr, i) => fromHex(stringFromJson(pcr, `${field}.pcrs[${i}]`), `${field}.pcrs[${i}]`));
  return {
    signature: fromHex(stringFromJson(quote['signature'], `${field}.signature`), `${field}.signature`),
    message: fromHex(stringFromJson(quote['message'], `${field}.message`), `${field}.message`),
    pcrs,
  };
}

/** `quote` of legacy v0 evidence: the same fields as JSON byte arrays, PCRs as 32-byte arrays. */
export function parseVtpmQuoteLegacy(value: unknown, field = 'quote'): TpmQuote {
  const quote = objectFromJson(value, field);
  return {
    signature: bytesFromJsonArray(quote['signature'], `${field}.signature`),
    message: bytesFromJsonArray(quote['message'], `${field}.message`),
    pcrs: pcrList(quote['pcrs'], `${field}.pcrs`).map((pcr, i) => bytesFromJsonArray(pcr, `${field}.pcrs[${i}]`, 32)),
  };
}

function pcrList(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw VerificationError.single('malformed_evidence', field, 'expected an array of PCR values');
  if (value.length > MAX_PCRS) throw VerificationError.single('malformed_evidence', field, 'too many PCR values', `<= ${MAX_PCRS}`, String(value.length));
  return value;
}

/**
 * The az-cvm-vtpm tooling's serialised `Quote` (bincode): u64-LE length + signature, u64-LE
 * length + TPMS_ATTEST, u64-LE count + count × 32-byte SHA-256 PCRs.
 */
export function parseVtpmQuoteBincode(bytes: Uint8Array): TpmQuote {
  const r = new ByteReader(bytes, 'tpm_quote');
  const length = (field: string, max: number): number => {
    const value = r.u64le(field);
    if (value > BigInt(max)) throw VerificationError.single('malformed_evidence', `tpm_quote.${field}`, 'length out of range', `<= ${max}`, String(value));
    return Number(value);
  };
  const signature = r.bytes(length('signature.length', 4096), 'signature');
  const message = r.bytes(length('message.length', 4096), 'message');
  const count = length('pcrs.count', MAX_PCRS);
  const pcrs = Array.from({ length: count }, (_, i) => r.bytes(32, `pcrs[${i}]`));
  r.expectEnd();
  return { signature, message, pcrs };
}
