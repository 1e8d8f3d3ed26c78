import { toHex } from '../binary/encoding.ts';
import type { DcapTrustOptions } from '../dcap/verifyQuote.ts';
import { tdxParsedClaims } from '../tdx/tdxClaims.ts';
import { verifyTdQuote } from '../tdx/verifyTdQuote.ts';
import { checkHclBinding, checkUserData } from '../tpm/hclBinding.ts';
import { parseHclReport, parseHclRuntimeClaims } from '../tpm/hclReport.ts';
import { checkInitDataPcr, INIT_DATA_PCR, pcrClaims, verifyTpmQuote, type VerifiedTpmQuote } from '../tpm/verifyTpmQuote.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import type { Json, JsonObject, VerificationExpectations, VerifiedClaims, Verifier, VerifierContext } from '../verifier.ts';
import { parseAzTdxVtpmEvidence } from './azTdxVtpmEvidence.ts';

export type AzTdxVtpmVerifierOptions = DcapTrustOptions;

/**
 * Verifies Azure TDX vTPM evidence: vTPM quote signed by the HCL `HCLAkPub` with nonce == the
 * expected report data (required) and a matching PCR digest; the TD quote through full DCAP
 * verification (as `tdx`); SHA-256(HCL runtime claims) == TD quote report_data[0..32]; v2
 * `user-data` prefix; PCR8 == SHA-256(0^32 ‖ init-data digest). No event-log replay.
 */
export async function verifyAzTdxVtpmEvidence(evidence: Json, expected: VerificationExpectations, context: VerifierContext, trust: DcapTrustOptions = {}): Promise<JsonObject> {
  const expectedReportData = expected.reportData;
  if (expectedReportData === undefined) {
    throw VerificationError.single('verification_failed', 'az-tdx-vtpm.report_data', 'expected report data is required for a vTPM quote (the nonce)');
  }
  const parsed = parseAzTdxVtpmEvidence(evidence);
  const hcl = parseHclReport(parsed.hclReport);
  if (hcl.reportType !== 'tdx') {
    throw VerificationError.single('malformed_evidence', 'hcl_report.request_data.report_type', 'HCL report does not carry a TD report', 'tdx', hcl.reportType);
  }
  const runtime = parseHclRuntimeClaims(hcl.varData);

  const failures: FailedCheck[] = [];
  let quote: VerifiedTpmQuote | undefined;
  try {
    quote = verifyTpmQuote(parsed.tpmQuote, runtime.akPublicKey, expectedReportData);
  } catch (error) {
    if (!(error instanceof VerificationError && error.code === 'verification_failed')) throw error;
    failures.push(...error.failures);
  }
  const td = await verifyTdQuote(parsed.tdQuote, context, trust);
  failures.push(...checkHclBinding(hcl, td.body.reportData, 'az-tdx-vtpm'));
  if (parsed.version >= 2) failures.push(...checkUserData(runtime, expectedReportData, 'az-tdx-vtpm'));
  if (quote !== undefined) failures.push(...checkInitDataPcr(quote.pcrs, expected.initDataDigest, 'az-tdx-vtpm'));
  if (failures.length > 0 || quote === undefined) throw new VerificationError('verification_failed', failures);

  const claims: JsonObject = { ...tdxParsedClaims(td.quote, td.body, undefined, td.dcap.platform), tpm: pcrClaims(quote.pcrs) };
  const initDataPcr = quote.pcrs.get(INIT_DATA_PCR);
  if (initDataPcr !== undefined) claims['init_data'] = toHex(initDataPcr);
  claims['report_data'] = toHex(quote.attest.extraData);
  return { ...claims, ...td.dcap.supplemental };
}

/** Creates the `az-tdx-vtpm` verifier; `trustAnchors` as for `createTdxVerifier`. */
export function createAzTdxVtpmVerifier(options: AzTdxVtpmVerifierOptions = {}): Verifier {
  return {
    tee: 'az-tdx-vtpm',
    async evaluate(evidence: Json, expected: VerificationExpectations, context: VerifierContext): Promise<VerifiedClaims[]> {
      return [{ teeClass: 'cpu', claims: await verifyAzTdxVtpmEvidence(evidence, expected, context, options) }];
    },
  };
}

/** The `az-tdx-vtpm` verifier trusting only the production Intel SGX Root CA. */
export const azTdxVtpmVerifier: Verifier = createAzTdxVtpmVerifier();
