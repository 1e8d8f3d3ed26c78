import { parseDcapQuote, type DcapQuote, type TdReportBody } from '../dcap/parseQuote.ts';
import { verifyDcapQuote, verifyPckChain, type DcapTrustOptions, type DcapVerification } from '../dcap/verifyQuote.ts';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral, VerifierContext } from '../verifier.ts';

export interface VerifiedTdQuote {
  readonly quote: DcapQuote;
  readonly body: TdReportBody;
  readonly dcap: DcapVerification;
}

/** Asks the context's collateral source for the PCS collateral of a verified PCK chain. */
export async function fetchIntelCollateral(context: VerifierContext, tee: 'tdx' | 'sgx', fmspc: string, pckCa: 'processor' | 'platform'): Promise<IntelCollateral> {
  const source = context.collateral.getIntelCollateral;
  if (source === undefined) {
    throw VerificationError.single('collateral_unavailable', 'dcap.collateral', 'no Intel collateral source is configured');
  }
  try {
    return await source.call(context.collateral, { tee, fmspc, pckCa });
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    throw VerificationError.single('collateral_unavailable', 'dcap.collateral', `Intel collateral for FMSPC ${fmspc} (${pckCa} CA) is unavailable: ${(error as Error).message}`);
  }
}

/**
 * Parses a TD quote (v4/v5), verifies its PCK chain, fetches collateral for its FMSPC and runs
 * the full DCAP verification. SGX quotes are rejected.
 */
export async function verifyTdQuote(quoteBytes: Uint8Array, context: VerifierContext, trust: DcapTrustOptions): Promise<VerifiedTdQuote> {
  const quote = parseDcapQuote(quoteBytes);
  if (quote.body.tee !== 'tdx') {
    throw VerificationError.single('malformed_evidence', 'tdx.quote.version', 'expected a TDX quote (v4/v5), got an SGX quote', 'TDX', `v${quote.header.version} SGX`);
  }
  const chain = verifyPckChain(quote, trust);
  const collateral = await fetchIntelCollateral(context, 'tdx', chain.platform.fmspc, chain.platform.ca);
  const dcap = verifyDcapQuote(quote, collateral, { ...trust, now: context.now(), tee: 'tdx' });
  return { quote, body: quote.body.td, dcap };
}
