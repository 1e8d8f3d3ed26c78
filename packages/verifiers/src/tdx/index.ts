/**
 * Intel TDX (DCAP) verifier and the building blocks a CLI or another verifier needs: quote and
 * CCEL parsing, DCAP verification against given collateral, offline collateral bundles.
 */
export { createTdxVerifier, tdxVerifier, parseTdxEvidence, checkTdxBindings, checkRtmrReplay, decodeBase64Std, type TdxEvidence, type TdxVerifierOptions } from './tdxVerifier.ts';
export { tdxParsedClaims, tdxQuoteClaims, decodeTdAttributes } from './tdxClaims.ts';
export { verifyTdQuote, fetchIntelCollateral, type VerifiedTdQuote } from './verifyTdQuote.ts';
export { verifyTdxEvidenceOffline, type OfflineTdxOptions } from './verifyOffline.ts';
export { parseDcapQuote, type DcapQuote, type TdReportBody, type SgxReportBody, type QuoteHeader } from '../dcap/parseQuote.ts';
export { verifyDcapQuote, verifyPckChain, INTEL_SGX_ROOT_CA_SHA256, INTEL_SGX_ROOT_KEY_ID, type DcapTrustOptions, type DcapVerification, type VerifiedPckChain } from '../dcap/verifyQuote.ts';
export type { PckPlatformInfo } from '../dcap/pck.ts';
export type { TcbStatus } from '../dcap/tcbInfo.ts';
export { parseCcel, replayCcel, TCG_ALG_SHA384, type CcelEntry } from '../eventlog/parseCcel.ts';
export { intelCollateralFromJson, intelCollateralToJson, parseIntelCollateralText, loadIntelCollateral, type IntelCollateralJson } from '../collateral/intelBundle.ts';
export { staticIntelCollateral, intelBundleKey, type IntelBundleKey } from '../collateral/intelStatic.ts';
export { createIntelPcsClient, INTEL_PCS_URL, rootCaCrlDistributionPoint, type IntelPcsClient, type IntelPcsOptions, type FetchFunction } from '../collateral/intelPcs.ts';
export { createIntelCollateralCache, collateralFreshUntil, INTEL_COLLATERAL_NAMESPACE, type IntelCollateralCache, type IntelCollateralCacheOptions } from '../collateral/intelCache.ts';
export { parseIntelCollateralFile, intelCollateralFromPcsClientTool, writeIntelCollateralDir } from '../collateral/intelBundle.ts';
export { dcapVerifierConfigSchema } from '../verifierConfigSchemas.ts';
export { parseDcapVerifierConfig, createIntelCollateralSource, fileIntelCollateral, DEFAULT_DCAP_VERIFIER_CONFIG, type DcapVerifierConfig } from '../collateral/intelConfig.ts';
