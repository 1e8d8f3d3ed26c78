/** Intel SGX (DCAP) verifier: SGX quotes v3/v4 on the shared DCAP core and Intel collateral. */
export { createSgxVerifier, sgxVerifier, parseSgxEvidence, verifySgxQuote, checkSgxBindings, type SgxVerifierOptions, type VerifiedSgxQuote } from './sgxVerifier.ts';
export { sgxParsedClaims } from './sgxClaims.ts';
