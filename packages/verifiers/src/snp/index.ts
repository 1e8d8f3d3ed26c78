/** AMD SEV-SNP: report parsing, VCEK/VLEK chains to pinned AMD roots, the `snp` verifier. */
export { AMD_PRODUCTS, AMD_ROOT_FINGERPRINTS, type AmdProduct } from './amdRoots.ts';
export { amdTrustAnchors, createAmdTrustAnchors, TrustAnchorError, type AmdTrustAnchor, type AmdTrustAnchors, type AmdTrustAnchorInput } from './amdTrustAnchors.ts';
export { parseSnpReport, encodeSnpReport, signingKeyOf, policyFields, platformFields, SNP_REPORT_SIZE, SNP_SIGNED_LENGTH, type SnpReport, type SnpVersion } from './snpReport.ts';
export { parseSnpReportJson, snpReportToJson } from './snpReportJson.ts';
export { parseSnpEvidence, type SnpEvidence, type SnpCertEntry, type SnpCertType } from './snpEvidence.ts';
export { productFromReport, productFromName } from './product.ts';
export { parseAmdCertificate, splitPemBundle, AMD_OID, type AmdCertificate } from './vekCertificate.ts';
export { verifyVekChain, type VekKind, type VekChainInput } from './verifyVekChain.ts';
export { verifySnpReport, verifySnpReportAsync, verifyReportSignature, verifyReportSignatureAsync, type SnpReportEndorsement, type SnpCheckOptions, type VerifiedSnpReport } from './verifySnpReport.ts';
export { snpClaims, azSnpClaims } from './snpClaims.ts';
export { createSnpVerifier, snpVerifier, endorsementFromCertEntries, type SnpVerifierOptions } from './snpVerifier.ts';
export { verifyRawSnpReport, type RawSnpReportOptions, type RawSnpReportResult } from './verifyRawSnpReport.ts';
export { parseSnpCertTable } from './certTable.ts';
export { verifySnpEvidenceFile, type SnpEvidenceFileOptions, type SnpEvidenceFileResult, type SnpEvidenceFileFormat } from './verifySnpEvidenceFile.ts';
