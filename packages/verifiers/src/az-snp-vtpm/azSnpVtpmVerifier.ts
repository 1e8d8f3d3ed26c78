import { toHex } from '../binary/encoding.ts';
import { amdTrustAnchors, type AmdTrustAnchors } from '../snp/amdTrustAnchors.ts';
import { parseCachedAmdCertificate } from '../snp/certificateCache.ts';
import { azSnpClaims } from '../snp/snpClaims.ts';
import { parseSnpReport, type SnpReport } from '../snp/snpReport.ts';
import { checkSnpReport, verifyReportSignatureAsync } from '../snp/verifySnpReport.ts';
import { checkHclBinding, checkUserData } from '../tpm/hclBinding.ts';
import { parseHclReport, parseHclRuntimeClaims } from '../tpm/hclReport.ts';
import { checkInitDataPcr, INIT_DATA_PCR, pcrClaims, verifyTpmQuote, type VerifiedTpmQuote } from '../tpm/verifyTpmQuote.ts';
import type { Json, JsonObject, VerificationExpectations, VerifiedClaims, Verifier, VerifierContext } from '../verifier.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import { parseAzSnpVtpmEvidence, type AzSnpVtpmEvidence } from './azSnpVtpmEvidence.ts';

export interface AzSnpVtpmVerifierOptions {
  /** Roots to trust instead of AMD's pinned production roots (custom roots, tests). */
  readonly trustAnchors?: AmdTrustAnchors;
}

export interface VerifiedAzSnpVtpm {
  readonly report: SnpReport;
  readonly quote: VerifiedTpmQuote;
  readonly runtimeClaims: JsonObject;
  readonly claims: JsonObject;
}

/**
 * The `az-snp-vtpm` verifier (Azure SEV-SNP confidential VM with a paravisor vTPM). Checks, all
 * collected: vTPM quote signed by the HCL `HCLAkPub`, quote nonce == expected report data
 * (required), PCR digest, SHA-256(HCL runtime claims) == SNP report_data[0..32], v2 `user-data`
 * prefix, VCEK chain to the anchors and valid now, SNP report signature/TCB/chip id, VMPL 0, and
 * PCR8 == SHA-256(0^32 ‖ init-data digest).
 */
export function createAzSnpVtpmVerifier(options: AzSnpVtpmVerifierOptions = {}): Verifier {
  return {
    tee: 'az-snp-vtpm',
    async evaluate(evidence: Json, expected: VerificationExpectations, context: VerifierContext): Promise<VerifiedClaims[]> {
      const verified = await verifyAzSnpVtpmEvidence(parseAzSnpVtpmEvidence(evidence), expected, { now: context.now(), trustAnchors: options.trustAnchors ?? amdTrustAnchors() });
      return [{ teeClass: 'cpu', claims: verified.claims }];
    },
  };
}

/** The `az-snp-vtpm` verifier over AMD's production roots. */
export const azSnpVtpmVerifier: Verifier = createAzSnpVtpmVerifier();

/** Verifies parsed Azure SNP vTPM evidence (the verifier and the CLI use it). */
export async function verifyAzSnpVtpmEvidence(
  evidence: AzSnpVtpmEvidence,
  expected: VerificationExpectations,
  options: { readonly now: Date; readonly trustAnchors: AmdTrustAnchors },
): Promise<VerifiedAzSnpVtpm> {
  const expectedReportData = expected.reportData;
  if (expectedReportData === undefined) {
    throw VerificationError.single('verification_failed', 'az-snp-vtpm.report_data', 'expected report data is required for a vTPM quote (the nonce)');
  }
  const hcl = parseHclReport(evidence.hclReport);
  if (hcl.reportType !== 'snp') {
    throw VerificationError.single('malformed_evidence', 'hcl_report.request_data.report_type', 'HCL report does not carry an SNP report', 'snp', hcl.reportType);
  }
  const runtime = parseHclRuntimeClaims(hcl.varData);
  const report = parseSnpReport(hcl.hardwareReport);
  const vcek = parseCachedAmdCertificate(evidence.vcek, 'vcek');

  // The report's ECDSA check runs on the thread pool while the quote is checked here.
  const reportSignature = verifyReportSignatureAsync(report, vcek);
  const failures: FailedCheck[] = [];
  const quote = collect(failures, () => verifyTpmQuote(evidence.tpmQuote, runtime.akPublicKey, expectedReportData));
  failures.push(...checkHclBinding(hcl, report.reportData, 'az-snp-vtpm'));
  if (evidence.version >= 2) failures.push(...checkUserData(runtime, expectedReportData, 'az-snp-vtpm'));
  const signatureValid = await reportSignature;
  collect(failures, () =>
    checkSnpReport(report, { vek: vcek, kind: 'vcek' }, { anchors: options.trustAnchors, now: options.now, expected, bindings: 'none', maxVmpl: 0 }, signatureValid),
  );
  if (quote !== undefined) failures.push(...checkInitDataPcr(quote.pcrs, expected.initDataDigest, 'az-snp-vtpm'));
  if (failures.length > 0 || quote === undefined) throw new VerificationError('verification_failed', failures);

  const claims: JsonObject = { ...azSnpClaims(report), tpm: pcrClaims(quote.pcrs) };
  const initDataPcr = quote.pcrs.get(INIT_DATA_PCR);
  if (initDataPcr !== undefined) claims['init_data'] = toHex(initDataPcr);
  claims['report_data'] = toHex(quote.attest.extraData);
  return { report, quote, runtimeClaims: runtime.json, claims };
}

/** Runs a check that throws `verification_failed`, keeping its failures so that all are reported. */
function collect<T>(failures: FailedCheck[], check: () => T): T | undefined {
  try {
    return check();
  } catch (error) {
    if (error instanceof VerificationError && error.code === 'verification_failed') {
      failures.push(...error.failures);
      return undefined;
    }
    throw error;
  }
}
