import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ByteReader } from '../binary/byteReader.ts';
import { fromHex } from '../binary/encoding.ts';
import type { JsonObject } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';

/** "HCLA" little-endian. */
export const HCL_SIGNATURE = 0x414c4348;
export const HCL_HEADER_SIZE = 0x20;
/** The hardware report slot is sized for the larger of the SNP report (1184) and TDREPORT (1024). */
export const HCL_HW_REPORT_SIZE = 1184;
export const SNP_REPORT_SIZE = 1184;
export const TD_REPORT_SIZE = 1024;
/** IgvmRequestData starts right after the hardware report slot. */
export const HCL_REQUEST_DATA_OFFSET = HCL_HEADER_SIZE + HCL_HW_REPORT_SIZE;
export const HCL_VAR_DATA_OFFSET = HCL_REQUEST_DATA_OFFSET + 20;
const IGVM_REPORT_TYPE_SNP = 2;
const IGVM_REPORT_TYPE_TDX = 4;
const IGVM_HASH_TYPE_SHA256 = 1;
/** The AK the paravisor publishes in the runtime claims. */
export const HCL_AK_KEY_ID = 'HCLAkPub';

export interface HclReport {
  readonly header: {
    readonly signature: number;
    readonly version: number;
    readonly reportSize: number;
    readonly requestType: number;
    readonly status: number;
  };
  readonly reportType: 'snp' | 'tdx';
  /** The SNP report (1184 bytes) or the TDREPORT (1024 bytes), as the hardware signed/MACed it. */
  readonly hardwareReport: Uint8Array;
  readonly requestData: {
    readonly dataSize: number;
    readonly version: number;
    readonly reportType: number;
    readonly reportDataHashType: number;
    readonly variableDataSize: number;
  };
  /** The runtime-claims JSON bytes the hardware report's report_data[0..32] commits to. */
  readonly varData: Uint8Array;
  /** SHA-256 of `varData` (the only hash type the paravisor uses). */
  readonly varDataSha256: Uint8Array;
}

/**
 * Parses an Azure paravisor (HCL) attestation report: header, hardware report, IGVM request
 * data and the variable (runtime-claims) data, every length checked against the buffer.
 *
 * @example
 * const hcl = parseHclReport(bytes);
 * if (hcl.reportType === 'snp') parseSnpReport(hcl.hardwareReport);
 */
export function parseHclReport(bytes: Uint8Array): HclReport {
  const r = new ByteReader(bytes, 'hcl_report');
  const signature = r.u32le('header.signature');
  if (signature !== HCL_SIGNATURE) {
    throw VerificationError.single('malformed_evidence', 'hcl_report.header.signature', 'not an HCL report', 'HCLA', `0x${signature.toString(16)}`);
  }
  const header = { signature, version: r.u32le('header.version'), reportSize: r.u32le('header.report_size'), requestType: r.u32le('header.request_type'), status: r.u32le('header.status') };
  r.skip(12, 'header.reserved');
  const hwSlot = r.bytes(HCL_HW_REPORT_SIZE, 'hw_report');
  const requestData = {
    dataSize: r.u32le('request_data.data_size'),
    version: r.u32le('request_data.version'),
    reportType: r.u32le('request_data.report_type'),
    reportDataHashType: r.u32le('request_data.report_data_hash_type'),
    variableDataSize: r.u32le('request_data.variable_data_size'),
  };
  let reportType: 'snp' | 'tdx';
  if (requestData.reportType === IGVM_REPORT_TYPE_SNP) reportType = 'snp';
  else if (requestData.reportType === IGVM_REPORT_TYPE_TDX) reportType = 'tdx';
  else {
    throw VerificationError.single('malformed_evidence', 'hcl_report.request_data.report_type', 'unknown hardware report type', '2 (SNP) or 4 (TDX)', String(requestData.reportType));
  }
  if (requestData.reportDataHashType !== IGVM_HASH_TYPE_SHA256) {
    throw VerificationError.single('unsupported', 'hcl_report.request_data.report_data_hash_type', 'only SHA-256 runtime-data hashing is supported', '1 (SHA-256)', String(requestData.reportDataHashType));
  }
  const varData = r.bytes(requestData.variableDataSize, 'var_data');
  // Trailing bytes after the variable data are padding (reports are served in fixed-size buffers).
  const hardwareReport = hwSlot.subarray(0, reportType === 'snp' ? SNP_REPORT_SIZE : TD_REPORT_SIZE);
  return { header, reportType, hardwareReport, requestData, varData, varDataSha256: createHash('sha256').update(varData).digest() };
}

/** The runtime claims (variable data) JSON the paravisor publishes, typed where the verifiers need it. */
export interface HclRuntimeClaims {
  /** The whole JSON object as published. */
  readonly json: JsonObject;
  /** The vTPM attestation key from the `HCLAkPub` JWK. */
  readonly akPublicKey: KeyObject;
  /** Hex-decoded `user-data` when present (v2 evidence binds the caller's report data in it). */
  readonly userData: Uint8Array | undefined;
}

/** Parses the HCL variable data: JSON object, `keys[kid=HCLAkPub]` RSA JWK, optional hex `user-data`. */
export function parseHclRuntimeClaims(varData: Uint8Array): HclRuntimeClaims {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(varData));
  } catch {
    throw VerificationError.single('malformed_evidence', 'hcl_report.var_data', 'runtime claims are not JSON');
  }
  if (!isObject(parsed)) throw VerificationError.single('malformed_evidence', 'hcl_report.var_data', 'runtime claims are not a JSON object');
  const keys = parsed['keys'];
  const ak = Array.isArray(keys) ? keys.find((key) => isObject(key) && key['kid'] === HCL_AK_KEY_ID) : undefined;
  if (!isObject(ak)) throw VerificationError.single('malformed_evidence', 'hcl_report.var_data.keys', `no ${HCL_AK_KEY_ID} key in the runtime claims (failed to get AKpub)`);
  if (ak['kty'] !== 'RSA' || typeof ak['n'] !== 'string' || typeof ak['e'] !== 'string') {
    throw VerificationError.single('malformed_evidence', 'hcl_report.var_data.keys', `${HCL_AK_KEY_ID} is not an RSA JWK`);
  }
  let akPublicKey: KeyObject;
  try {
    akPublicKey = createPublicKey({ key: { kty: 'RSA', n: ak['n'], e: ak['e'] }, format: 'jwk' });
  } catch {
    throw VerificationError.single('malformed_evidence', 'hcl_report.var_data.keys', `${HCL_AK_KEY_ID} is not a valid RSA public key`);
  }
  const userDataText = parsed['user-data'];
  let userData: Uint8Array | undefined;
  if (userDataText !== undefined) {
    if (typeof userDataText !== 'string') throw VerificationError.single('malformed_evidence', 'hcl_report.var_data.user-data', 'user-data is not a string');
    userData = fromHex(userDataText, 'hcl_report.var_data.user-data');
  }
  return { json: parsed as JsonObject, akPublicKey, userData };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
