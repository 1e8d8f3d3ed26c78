import type { Json } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';

/** The sample attester's evidence: `{"svn": "<string>", "report_data": "<standard base64>"}`. */
export interface SampleEvidence {
  readonly svn: string;
  /** Standard base64 as sent; upstream's serde default is the empty string. */
  readonly reportData: string;
}

/**
 * Longest `svn` / `report_data` accepted (characters). Both are copied into the token's claims;
 * upstream's attester sends `"1"` and 88 base64 characters, so anything longer is hostile.
 */
export const MAX_SAMPLE_FIELD_LENGTH = 1024;

/**
 * Parses sample / sampledevice evidence. Like upstream's serde struct, unknown members are
 * ignored and `report_data` defaults to `""`; `svn` must be a string. Both fields are bounded
 * by MAX_SAMPLE_FIELD_LENGTH.
 */
export function parseSampleEvidence(evidence: Json, check: string): SampleEvidence {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) {
    throw VerificationError.single('malformed_evidence', `${check}.evidence`, 'evidence must be a JSON object', 'object', describe(evidence));
  }
  const svn = Object.hasOwn(evidence, 'svn') ? evidence.svn : undefined;
  if (typeof svn !== 'string') {
    throw VerificationError.single('malformed_evidence', `${check}.svn`, 'svn must be a string', 'string', describe(svn));
  }
  const reportData = Object.hasOwn(evidence, 'report_data') ? evidence.report_data : '';
  if (typeof reportData !== 'string') {
    throw VerificationError.single('malformed_evidence', `${check}.report_data`, 'report_data must be a string', 'string', describe(reportData));
  }
  for (const [field, value] of [['svn', svn], ['report_data', reportData]] as const) {
    if (value.length > MAX_SAMPLE_FIELD_LENGTH) {
      throw VerificationError.single('malformed_evidence', `${check}.${field}`, `${field} is longer than ${MAX_SAMPLE_FIELD_LENGTH} characters`, `at most ${MAX_SAMPLE_FIELD_LENGTH} characters`, `${value.length} characters`);
    }
  }
  return { svn, reportData };
}

function describe(value: Json | undefined): string {
  if (value === undefined) return 'absent';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
