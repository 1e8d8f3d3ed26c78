import { fromBase64Lenient } from '../binary/encoding.ts';
import { bytesFromJsonArray, objectFromJson, stringFromJson } from '../binary/jsonBytes.ts';
import { parseVtpmQuoteJson, parseVtpmQuoteLegacy } from '../tpm/quoteJson.ts';
import type { TpmQuote } from '../tpm/verifyTpmQuote.ts';
import { VerificationError } from '../verificationError.ts';

export interface AzSnpVtpmEvidence {
  /** 0 = legacy byte arrays, 1 = hex/base64url, 2 = as 1 and `user-data` binds the report data. */
  readonly version: 0 | 1 | 2;
  readonly tpmQuote: TpmQuote;
  readonly hclReport: Uint8Array;
  /** DER (v1/v2) or PEM text (v0). */
  readonly vcek: Uint8Array | string;
}

/** HCL reports are a few KiB; anything far beyond is not one. */
const MAX_HCL_REPORT = 64 * 1024;

/**
 * Parses Azure SNP vTPM evidence in any of its three wire versions (upstream tries v2, v1, v0):
 * v1/v2 `{"version", "tpm_quote": {hex...}, "hcl_report": b64url, "vcek": b64url DER}`,
 * v0 `{"quote": {byte arrays}, "report": [bytes], "vcek": "<PEM>"}`.
 */
export function parseAzSnpVtpmEvidence(value: unknown): AzSnpVtpmEvidence {
  const evidence = objectFromJson(value, 'evidence');
  const version = evidence['version'];
  if (version === 1 || version === 2) {
    const hclReport = fromBase64Lenient(stringFromJson(evidence['hcl_report'], 'hcl_report'), 'hcl_report');
    checkSize(hclReport.byteLength);
    return {
      version,
      tpmQuote: parseVtpmQuoteJson(evidence['tpm_quote'], 'tpm_quote'),
      hclReport,
      vcek: fromBase64Lenient(stringFromJson(evidence['vcek'], 'vcek'), 'vcek'),
    };
  }
  if (version !== undefined && ('tpm_quote' in evidence || !('quote' in evidence))) {
    throw VerificationError.single('malformed_evidence', 'version', 'unsupported evidence version', '1 or 2 (or none for v0)', JSON.stringify(version));
  }
  const report = evidence['report'];
  if (Array.isArray(report)) checkSize(report.length);
  return {
    version: 0,
    tpmQuote: parseVtpmQuoteLegacy(evidence['quote'], 'quote'),
    hclReport: bytesFromJsonArray(report, 'report'),
    vcek: stringFromJson(evidence['vcek'], 'vcek'),
  };
}

function checkSize(length: number): void {
  if (length > MAX_HCL_REPORT) throw VerificationError.single('malformed_evidence', 'hcl_report', 'HCL report too large', `<= ${MAX_HCL_REPORT}`, String(length));
}
