import { createHash } from 'node:crypto';
import type { Json } from '../verifier.ts';
import { buildHclReport, buildRuntimeClaims, buildTpmQuote, testAttestationKey, testPcrs } from './azureFactory.ts';
import type { TdxQuoteOptions, TdxTestPlatform } from './tdxFactory.ts';

export interface TestAzTdxVtpmOptions {
  readonly platform: TdxTestPlatform;
  /** The verifier's nonce: TPM quote extraData and (v2) HCL user-data. */
  readonly nonce: Uint8Array;
  readonly version?: 0 | 1 | 2;
  /** Extended into PCR8 as the guest does. */
  readonly initDataDigest?: Uint8Array;
  readonly quote?: TdxQuoteOptions;
  /** Bind the TD quote to different runtime claims than the HCL report carries. */
  readonly unbound?: boolean;
}

/**
 * Azure TDX vTPM evidence over the TDX test platform: runtime claims (HCLAkPub, user-data), an
 * HCL report with a TDREPORT whose report_data (offset 128) = SHA-256(runtime claims) ‖ 0^32, a
 * TD quote carrying the same report_data, and an AK-signed vTPM quote over 24 PCRs.
 */
export function createTestAzTdxVtpmEvidence(options: TestAzTdxVtpmOptions): Json {
  const ak = testAttestationKey();
  const version = options.version ?? 2;
  const varData = buildRuntimeClaims({ akPublicKey: ak.publicKey, ...(version >= 2 ? { userData: options.nonce } : {}) });
  const reportData = new Uint8Array(64);
  reportData.set(createHash('sha256').update(options.unbound === true ? Buffer.from('other claims') : varData).digest());
  const tdReport = new Uint8Array(1024);
  tdReport.set(reportData, 128);
  const hcl = buildHclReport(tdReport, 'tdx', varData);
  const tdQuote = options.platform.quote({ ...options.quote, reportData });
  const tpm = buildTpmQuote(ak.privateKey, options.nonce, testPcrs(options.initDataDigest));
  if (version === 0) {
    return {
      tpm_quote: { signature: Array.from(tpm.signature), message: Array.from(tpm.message), pcrs: tpm.pcrs.map((p) => Array.from(p)) },
      hcl_report: Array.from(hcl),
      td_quote: Array.from(tdQuote),
    };
  }
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return {
    version,
    tpm_quote: { signature: hex(tpm.signature), message: hex(tpm.message), pcrs: tpm.pcrs.map(hex) },
    // the guests send base64url WITH padding
    hcl_report: Buffer.from(hcl).toString('base64').replace(/\+/g, '-').replace(/\//g, '_'),
    td_quote: Buffer.from(tdQuote).toString('base64').replace(/\+/g, '-').replace(/\//g, '_'),
  };
}
