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
