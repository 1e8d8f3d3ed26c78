import { timingSafeEqual } from 'node:crypto';
import { VerificationError } from '../verificationError.ts';

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The only binding the sample TEEs have: the standard-base64-decoded `report_data` must equal
 * the expected runtime-data digest exactly (no zero padding, no truncation; upstream compares
 * the two byte vectors). Nothing is checked when the caller supplied no runtime data.
 */
export function checkSampleReportData(reportData: string, expected: Uint8Array | undefined, check: string): void {
  if (expected === undefined) return;
  const decoded = decodeStandardBase64(reportData);
  if (decoded === undefined) {
    throw VerificationError.single('malformed_evidence', check, 'report_data is not standard base64', 'standard base64', `${reportData.length} characters`);
  }
  const equal = decoded.length === expected.length && timingSafeEqual(decoded, expected);
  if (!equal) {
    throw VerificationError.single(
      'verification_failed',
      check,
      'report_data does not match the runtime-data digest',
      Buffer.from(expected).toString('hex'),
      decoded.toString('hex'),
    );
  }
}

function decodeStandardBase64(text: string): Buffer | undefined {
  if (!STANDARD_BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
