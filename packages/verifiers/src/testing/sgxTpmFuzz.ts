import { parseDcapQuote } from '../dcap/parseQuote.ts';
import { createSgxVerifier } from '../sgx/sgxVerifier.ts';
import { staticIntelCollateral } from '../collateral/intelStatic.ts';
import { parseTpmEvidence } from '../tpm/tpmEvidence.ts';
import { parseTpmsAttest } from '../tpm/tpmsAttest.ts';
import { parseTpmtSignature } from '../tpm/tpmtSignature.ts';
import { createTpmVerifier } from '../tpm/tpmVerifier.ts';
import type { Json } from '../verifier.ts';
import { mutateBytes, mutateJson, randomBytes, randomJson, type FuzzTarget } from './snpFuzz.ts';
import { createTdxTestPlatform, sgxEvidence, TDX_FACTORY_NOW } from './tdxFactory.ts';
import { createTestTpmEvidence } from './tpmFactory.ts';

/**
 * Fuzz targets for the SGX quote path and the TPM evidence parsers and verifier, shared by the
 * unit tests (a few hundred deterministic cases) and `fuzz/sgx-tpm.fuzz.ts` (long runs). A target
 * passes a case when it resolves or throws a `VerificationError`.
 */
export async function sgxTpmFuzzTargets(): Promise<FuzzTarget[]> {
  const platform = await createTdxTestPlatform();
  const source = staticIntelCollateral([await platform.collateral({ tee: 'sgx' })]);
  const v3 = platform.sgxQuote();
  const v4 = platform.sgxQuote({ version: 4 });
  const sgx = createSgxVerifier({ trustAnchors: platform.trustAnchors });
  const sgxContext = { now: () => TDX_FACTORY_NOW, collateral: source };
  const none = { reportData: undefined, initDataDigest: undefined };
  const nonce = new Uint8Array(32).fill(9);
  const initDigest = new Uint8Array(32).fill(4);
  const tpmSeed = createTestTpmEvidence({ reportData: nonce, initDataDigest: initDigest });
  const tpm = createTpmVerifier();
  const tpmExpected = { reportData: nonce, initDataDigest: initDigest };
  const tpmContext = { now: () => TDX_FACTORY_NOW, collateral: {} };
  const withMessage = (message: Uint8Array): Json => {
    const e = tpmSeed.evidence as { tpm_quote: Record<string, Json>; ak_public: string };
    return { ...e, tpm_quote: { ...e.tpm_quote, message: Buffer.from(message).toString('base64') } };
  };
  const sync = (fn: () => unknown) => async (): Promise<unknown> => fn();
  return [
    { name: 'parseDcapQuote(mutated SGX v3)', run: (r) => sync(() => parseDcapQuote(mutateBytes(r, v3)))() },
    { name: 'parseDcapQuote(mutated SGX v4)', run: (r) => sync(() => parseDcapQuote(mutateBytes(r, v4)))() },
    { name: 'parseDcapQuote(random)', run: (r) => sync(() => parseDcapQuote(randomBytes(r, Math.floor(r() * 6000))))() },
    { name: 'sgx.evaluate(mutated quote)', run: (r) => sgx.evaluate(sgxEvidence(mutateBytes(r, r() < 0.5 ? v3 : v4)), none, sgxContext) },
    { name: 'sgx.evaluate(mutated json)', run: (r) => sgx.evaluate(mutateJson(r, sgxEvidence(v3)), none, sgxContext) },
    { name: 'sgx.evaluate(random json)', run: (r) => sgx.evaluate(randomJson(r, 4), none, sgxContext) },
    { name: 'parseTpmtSignature(mutated)', run: (r) => sync(() => parseTpmtSignature(mutateBytes(r, tpmSeed.signature)))() },
    { name: 'parseTpmtSignature(random)', run: (r) => sync(() => parseTpmtSignature(randomBytes(r, Math.floor(r() * 600))))() },
    { name: 'parseTpmsAttest(mutated)', run: (r) => sync(() => parseTpmsAttest(mutateBytes(r, tpmSeed.quote.message)))() },
    { name: 'parseTpmEvidence(mutated json)', run: (r) => sync(() => parseTpmEvidence(mutateJson(r, tpmSeed.evidence)))() },
    { name: 'parseTpmEvidence(random json)', run: (r) => sync(() => parseTpmEvidence(randomJson(r, 4)))() },
    { name: 'tpm.evaluate(mutated message)', run: (r) => tpm.evaluate(withMessage(mutateBytes(r, tpmSeed.quote.message)), tpmExpected, tpmContext) },
    { name: 'tpm.evaluate(mutated json)', run: (r) => tpm.evaluate(mutateJson(r, tpmSeed.evidence), tpmExpected, tpmContext) },
  ];
}
