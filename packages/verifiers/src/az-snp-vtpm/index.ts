/** Azure SEV-SNP confidential VMs with a paravisor vTPM (`az-snp-vtpm`). */
export { createAzSnpVtpmVerifier, azSnpVtpmVerifier, verifyAzSnpVtpmEvidence, type AzSnpVtpmVerifierOptions, type VerifiedAzSnpVtpm } from './azSnpVtpmVerifier.ts';
export { parseAzSnpVtpmEvidence, type AzSnpVtpmEvidence } from './azSnpVtpmEvidence.ts';
