import 'reflect-metadata';

export * from './verifier.ts';
export * from './verificationError.ts';
export { getVerifier, supportedTees } from './registry.ts';
export { sampleVerifier, sampleDeviceVerifier } from './sample/index.ts';
export * from './snp/index.ts';
export * from './az-snp-vtpm/index.ts';
export * from './tpm/index.ts';
export * from './tdx/index.ts';
export * from './az-tdx-vtpm/index.ts';
export * from './nvidia/index.ts';
export * from './sgx/index.ts';
export { ByteReader } from './binary/index.ts';
export type { CollateralProgress } from './collateral/collateralProgress.ts';
export { createNvidiaRevocationSource, NVIDIA_COLLATERAL_NAMESPACE, NVIDIA_OCSP_URL, type NvidiaRevocationOptions, type NvidiaRevocationSource, type OcspPost } from './collateral/nvidiaOcsp.ts';
export { createAmdCollateralSource, tcbPrefix, AMD_COLLATERAL_NAMESPACE, type AmdCollateralOptions, type AmdCollateralSource } from './collateral/amdCollateral.ts';
export { AmdKdsClient, AMD_KDS_URL, kdsVcekUrl, kdsCertChainUrl, kdsHwid, type AmdKdsClientOptions, type FetchLike } from './collateral/amdKds.ts';
export { createAmdVcekSources, parseSnpVerifierConfig, snpVerifierConfigSchema, DEFAULT_KDS_OFFLINE_STORE, type SnpVerifierConfig, type VcekSourceConfig, type AmdVcekSourcesDeps } from './collateral/amdVcekSources.ts';
