export { createAzTdxVtpmVerifier, azTdxVtpmVerifier, verifyAzTdxVtpmEvidence, type AzTdxVtpmVerifierOptions } from './azTdxVtpmVerifier.ts';
export { parseAzTdxVtpmEvidence, type AzTdxVtpmEvidence } from './azTdxVtpmEvidence.ts';
