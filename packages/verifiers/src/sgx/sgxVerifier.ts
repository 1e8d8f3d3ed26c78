import { timingSafeEqual } from 'node:crypto';
import { regularize, toHex } from '../binary/encoding.ts';
import { parseDcapQuote, type DcapQuote, type SgxReportBody } from '../dcap/parseQuote.ts';
import { verifyDcapQuote, verifyPckChain, type DcapTrustOptions, type DcapVerification } from '../dcap/verifyQuote.ts';
import { decodeBase64Std } from '../tdx/tdxVerifier.ts';
import { fetchIntelCollateral } from '../tdx/verifyTdQuote.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import type { Json, VerificationExpectations, VerifiedClaims, Verifier, VerifierContext } from '../verifier.ts';
import { sgxParsedClaims } from './sgxClaims.ts';

/** Largest SGX quote accepted (real ones are ~4.7 KB: the PEM PCK chain dominates). */
const MAX_QUOTE_BYTES = 64 * 1024;

/**
 * Parses SGX evidence as guest-components' `sgx_dcap` attester sends it: `{"quote": "<std b64>"}`
 * (other members are ignored, as upstream's serde struct does).
 */
export function parseSgxEvidence(evidence: Json): Uint8Array {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) {
    throw VerificationError.single('malformed_evidence', 'sgx.evidence', 'SGX evidence must be a JSON object');
  }
  const quote = evidence['quote'];
  if (typeof quote !== 'string') throw VerificationError.single('malformed_evidence', 'sgx.evidence.quote', 'missing "quote" string');
  if (quote.length === 0) throw VerificationError.single('malformed_evidence', 'sgx.evidence.quote', 'SGX quote is empty');
  return decodeBase64Std(quote, 'sgx.evidence.quote', MAX_QUOTE_BYTES);
}

export interface VerifiedSgxQuote {
  readonly quote: DcapQuote;
  readonly body: SgxReportBody;
  readonly dcap: DcapVerification;
}

/**
 * Parses an SGX quote (v3, or v4 with an SGX body), verifies its PCK chain, fetches the SGX
 * collateral for its FMSPC through the context (PCS/PCCS cache or offline file, as for TDX) and
 * runs the full DCAP verification: quote and QE report signatures, QE binding, TCB info and QE
 * identity (id `QE`) signatures, CRLs, TCB level. TD quotes are rejected.
 */
export async function verifySgxQuote(quoteBytes: Uint8Array, context: VerifierContext, trust: DcapTrustOptions): Promise<VerifiedSgxQuote> {
  const quote = parseDcapQuote(quoteBytes);
  if (quote.body.tee !== 'sgx') {
    throw VerificationError.single('malformed_evidence', 'sgx.quote.version', 'expected an SGX quote (v3/v4 with an SGX report body), got a TD quote', 'SGX', `v${quote.header.version} TDX`);
  }
  const chain = verifyPckChain(quote, trust);
  const collateral = await fetchIntelCollateral(context, 'sgx', chain.platform.fmspc, chain.platform.ca);
  const dcap = verifyDcapQuote(quote, collateral, { ...trust, now: context.now(), tee: 'sgx' });
  return { quote, body: quote.body.report, dcap };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/**
 * Upstream's SGX bindings: REPORT_DATA equals the expected report data zero-padded (or cut) to
 * 64 bytes; CONFIGID equals the init-data digest regularised to 64 bytes. Unset = not checked.
 */
export function checkSgxBindings(body: SgxReportBody, expected: VerificationExpectations): FailedCheck[] {
  const failures: FailedCheck[] = [];
  if (expected.reportData !== undefined) {
    const want = regularize(expected.reportData, 64);
    if (!sameBytes(want, body.reportData)) {
      failures.push({ check: 'sgx.report_data', message: 'REPORT_DATA is different from that in the SGX quote', expected: toHex(want), found: toHex(body.reportData) });
    }
  }
  if (expected.initDataDigest !== undefined) {
    const want = regularize(expected.initDataDigest, 64);
    if (!sameBytes(want, body.configId)) {
      failures.push({ check: 'sgx.init_data', message: 'CONFIGID is different from the init-data digest', expected: toHex(want), found: toHex(body.configId) });
    }
  }
  return failures;
}

export type SgxVerifierOptions = DcapTrustOptions;

/**
 * Creates the `sgx` verifier. `trustAnchors` defaults to the production Intel SGX Root CA; tests
 * and lab setups pass their own roots explicitly (`verifier_config.dcap_verifier.trust_anchors_path`).
 *
 * @example
 * const [{ claims }] = await createSgxVerifier().evaluate({ quote }, { reportData, initDataDigest: undefined }, { now: () => new Date(), collateral });
 * claims.body.mr_enclave; claims.tcb_status;
 */
export function createSgxVerifier(options: SgxVerifierOptions = {}): Verifier {
  return {
    tee: 'sgx',
    async evaluate(evidence: Json, expected: VerificationExpectations, context: VerifierContext): Promise<VerifiedClaims[]> {
      const verified = await verifySgxQuote(parseSgxEvidence(evidence), context, options);
      const failures = checkSgxBindings(verified.body, expected);
      if (failures.length > 0) throw new VerificationError('verification_failed', failures);
      const claims = { ...sgxParsedClaims(verified.quote.header, verified.body, verified.dcap.platform), ...verified.dcap.supplemental };
      return [{ teeClass: 'cpu', claims }];
    },
  };
}

/** The `sgx` verifier trusting only the production Intel SGX Root CA. */
export const sgxVerifier: Verifier = createSgxVerifier();
