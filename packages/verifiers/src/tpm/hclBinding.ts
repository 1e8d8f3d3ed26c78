import { timingSafeEqual } from 'node:crypto';
import { toHex } from '../binary/encoding.ts';
import type { FailedCheck } from '../verificationError.ts';
import type { HclReport, HclRuntimeClaims } from './hclReport.ts';

/**
 * The hardware report must commit to the runtime claims: `report_data[0..32] == SHA-256(var data)`.
 * `hardwareReportData` is the SNP report's or TD quote's 64-byte report_data.
 */
export function checkHclBinding(hcl: HclReport, hardwareReportData: Uint8Array, prefix: string): FailedCheck[] {
  const bound = hardwareReportData.subarray(0, 32);
  if (bound.byteLength === 32 && timingSafeEqual(bound, hcl.varDataSha256)) return [];
  return [
    {
      check: `${prefix}.hcl_var_data`,
      message: 'HCL variable data digest does not match the hardware report data',
      expected: toHex(hcl.varDataSha256),
      found: toHex(bound),
    },
  ];
}

/** v2 evidence: the hex-decoded `user-data` must start with the expected report data. */
export function checkUserData(claims: HclRuntimeClaims, expected: Uint8Array, prefix: string): FailedCheck[] {
  const userData = claims.userData;
  if (userData === undefined) {
    return [{ check: `${prefix}.user_data`, message: 'HCL runtime claims carry no user-data', expected: toHex(expected), found: 'absent' }];
  }
  const head = userData.subarray(0, expected.byteLength);
  if (head.byteLength === expected.byteLength && timingSafeEqual(head, expected)) return [];
  return [{ check: `${prefix}.user_data`, message: 'user-data in HCL variable data does not match the report data', expected: toHex(expected), found: toHex(head) }];
}
