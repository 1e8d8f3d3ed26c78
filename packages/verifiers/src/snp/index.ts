/**
 * AMD SEV-SNP: report parsing, VCEK/VLEK chains to pinned AMD roots, the `snp` verifier.
 *
 * Deliberate differences from upstream Trustee (deps/verifier/src/snp), all stricter except 1:
 * 1. Version 2 reports (no CPUID) are accepted when the VEK's productName tells the product line;
 *    upstream rejects every report below version 3. Without a VEK in the evidence a v2 report is
 *    still rejected (the product is needed to ask KDS).
 * 2. Certificate validity (VEK, ASK/ASVK, ARK) is checked against the verification clock; upstream
 *    checks dates only on the Azure path.
 * 3. The chip id is checked against the hwID of every VCEK; upstream only does so when the subject
 *    CN is exactly "VCEK", which AMD's "SEV-VCEK" certificates never are. Turin's hwID is 8 bytes
 *    and is compared with chip_id[0..8].
 * 4. KEY_INFO's signing-key field must match the kind of key provided (VCEK vs VLEK).
 * 5. An ARK carried in the evidence must hold the anchor's public key (upstream: signed by it).
 */
export { AMD_PRODUCTS, AMD_ROOT_FINGERPRINTS, type AmdProduct } from './amdRoots.ts';
export { amdTrustAnchors, createAmdTrustAnchors, type AmdTrustAnchor, type AmdTrustAnchors, type AmdTrustAnchorInput } from './amdTrustAnchors.ts';
export { parseSnpReport, encodeSnpReport, signingKeyOf, policyFields, platformFields, SNP_REPORT_SIZE, SNP_SIGNED_LENGTH, type SnpReport, type SnpVersion } from './snpReport.ts';
export { parseSnpReportJson, snpReportToJson } from './snpReportJson.ts';
export { parseSnpEvidence, type SnpEvidence, type SnpCertEntry, type SnpCertType } from './snpEvidence.ts';
export { productFromReport, productFromName } from './product.ts';
export { parseAmdCertificate, splitPemBundle, AMD_OID, type AmdCertificate } from './vekCertificate.ts';
export { verifyVekChain, type VekKind, type VekChainInput } from './verifyVekChain.ts';
export { verifySnpReport, verifySnpReportAsync, checkSnpReport, verifyReportSignature, verifyReportSignatureAsync, type SnpReportEndorsement, type SnpCheckOptions, type VerifiedSnpReport } from './verifySnpReport.ts';
export { snpClaims, azSnpClaims } from './snpClaims.ts';
export { createSnpVerifier, snpVerifier, endorsementFromCertEntries, type SnpVerifierOptions } from './snpVerifier.ts';
export { verifyRawSnpReport, type RawSnpReportOptions, type RawSnpReportResult } from './verifyRawSnpReport.ts';
export { parseSnpCertTable } from './certTable.ts';
export { verifySnpEvidenceFile, type SnpEvidenceFileOptions, type SnpEvidenceFileResult, type SnpEvidenceFileFormat } from './verifySnpEvidenceFile.ts';
