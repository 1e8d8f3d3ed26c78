import type { Json } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';

/** The sample attester's evidence: `{"svn": "<string>", "report_data": "<standard base64>"}`. */
export interface SampleEvidence {
  readonly svn: string;
  /** Standard base64 as sent; upstream's serde default is the empty string. */
  readonly reportData: string;
}

/**
 * Parses sample / sampledevice evidence. Like upstream's serde struct, unknown members are
 * ignored and `report_data` defaults to `""`; `svn` must be a string.
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
  return { svn, reportData };
}

function describe(value: Json | undefined): string {
  if (value === undefined) return 'absent';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
