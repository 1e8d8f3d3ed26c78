import { fromBase64Lenient } from '../binary/encoding.ts';
import { bytesFromJsonArray, objectFromJson, stringFromJson } from '../binary/jsonBytes.ts';
import { parseVtpmQuoteJson, parseVtpmQuoteLegacy } from '../tpm/quoteJson.ts';
import type { TpmQuote } from '../tpm/verifyTpmQuote.ts';
import { VerificationError } from '../verificationError.ts';

export interface AzTdxVtpmEvidence {
  /** 0 = legacy byte arrays, 1 = hex/base64url, 2 = as 1 and `user-data` binds the report data. */
  readonly version: 0 | 1 | 2;
  readonly tpmQuote: TpmQuote;
  readonly hclReport: Uint8Array;
  readonly tdQuote: Uint8Array;
}

/** HCL reports and TD quotes are a few KiB; anything far beyond is not one. */
const MAX_BLOB = 64 * 1024;

function checkSize(field: string, length: number): void {
  if (length > MAX_BLOB) throw VerificationError.single('malformed_evidence', field, 'too large', `<= ${MAX_BLOB} bytes`, String(length));
}

function blob(value: unknown, field: string): Uint8Array {
  const text = stringFromJson(value, field);
  checkSize(field, (text.length * 3) / 4);
  return fromBase64Lenient(text, field);
}

/**
 * Parses Azure TDX vTPM evidence in its three wire versions (upstream tries v2, v1, v0):
 * v1/v2 `{"version", "tpm_quote": {hex...}, "hcl_report": b64url, "td_quote": b64url}`,
 * v0 `{"tpm_quote": {byte arrays}, "hcl_report": [bytes], "td_quote": [bytes]}`.
 */
export function parseAzTdxVtpmEvidence(value: unknown): AzTdxVtpmEvidence {
  const evidence = objectFromJson(value, 'evidence');
  const version = evidence['version'];
  if (version === 1 || version === 2) {
    return {
      version,
      tpmQuote: parseVtpmQuoteJson(evidence['tpm_quote'], 'tpm_quote'),
      hclReport: blob(evidence['hcl_report'], 'hcl_report'),
      tdQuote: blob(evidence['td_quote'], 'td_quote'),
    };
  }
  if (version !== undefined && !Array.isArray(evidence['hcl_report'])) {
    throw VerificationError.single('malformed_evidence', 'version', 'unsupported evidence version', '1 or 2 (or none for v0)', JSON.stringify(version));
  }
  for (const field of ['hcl_report', 'td_quote']) {
    const raw = evidence[field];
    if (Array.isArray(raw)) checkSize(field, raw.length);
  }
  return {
    version: 0,
    tpmQuote: parseVtpmQuoteLegacy(evidence['tpm_quote'], 'tpm_quote'),
    hclReport: bytesFromJsonArray(evidence['hcl_report'], 'hcl_report'),
    tdQuote: bytesFromJsonArray(evidence['td_quote'], 'td_quote'),
  };
}
