/**
 * vTPM quote (TPMS_ATTEST) and Azure paravisor (HCL) report handling shared by the
 * `az-snp-vtpm` and `az-tdx-vtpm` verifiers.
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
