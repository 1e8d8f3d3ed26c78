/**
 * vTPM quote (TPMS_ATTEST) and Azure paravisor (HCL) report handling shared by the
 * `az-snp-vtpm` and `az-tdx-vtpm` verifiers.
 *
 * Differences from upstream (az-cvm-vtpm / Trustee): PCR values are named by the signed PCR
 * selection rather than by list position and must be exactly the selected SHA-256 PCRs; the HCL
 * header magic ("HCLA") is checked; a non-SHA-256 runtime-data hash type or a non-32-byte
 * init-data digest is a typed error where upstream panics.
 *
 * @example
 * const hcl = parseHclReport(hclBytes);
 * const runtime = parseHclRuntimeClaims(hcl.varData);
 * const { attest, pcrs } = verifyTpmQuote(parseVtpmQuoteJson(evidence.tpm_quote), runtime.akPublicKey, expectedReportData);
 */
export { parseTpmsAttest, TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE, TPM_ALG_SHA256, type TpmsAttest, type TpmsPcrSelection } from './tpmsAttest.ts';
export { verifyTpmQuote, checkInitDataPcr, pcrClaims, INIT_DATA_PCR, type TpmQuote, type VerifiedTpmQuote } from './verifyTpmQuote.ts';
export {
  parseHclReport,
  parseHclRuntimeClaims,
  HCL_AK_KEY_ID,
  TD_REPORT_SIZE,
  type HclReport,
  type HclRuntimeClaims,
} from './hclReport.ts';
export { checkHclBinding, checkUserData } from './hclBinding.ts';
export { parseVtpmQuoteJson, parseVtpmQuoteLegacy, parseVtpmQuoteBincode } from './quoteJson.ts';
export { createTpmVerifier, tpmVerifier, tpmVerifierFromOptions, TPM_REPORT_DATA_SIZE } from './tpmVerifier.ts';
export {
  loadTrustedAks,
  akFingerprint,
  DEFAULT_MAX_TRUSTED_AK_KEYS,
  DEFAULT_TRUSTED_AK_KEYS_DIR,
  MAX_TRUSTED_AK_KEYS_LIMIT,
  type TpmVerifierOptions,
  type TrustedAkSet,
} from './trustedAks.ts';
export { parseTpmEvidence, type TpmEvidence } from './tpmEvidence.ts';
export { parseTpmtSignature, TPM_ALG_RSASSA, TPM_ALG_RSAPSS, TPM_ALG_ECDSA, type TpmtSignature } from './tpmtSignature.ts';
