import type { CollateralSource, Json, VerificationExpectations, VerifiedClaims, Verifier, VerifierContext } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import type { AmdProduct } from './amdRoots.ts';
import { amdTrustAnchors, type AmdTrustAnchors } from './amdTrustAnchors.ts';
import { productFromReport } from './product.ts';
import { snpClaims } from './snpClaims.ts';
import { parseSnpEvidence, type SnpCertEntry, type SnpEvidence } from './snpEvidence.ts';
import type { SnpReport } from './snpReport.ts';
import { parseCachedAmdCertificate } from './certificateCache.ts';
import type { AmdCertificate } from './vekCertificate.ts';
import { verifySnpReportAsync, type SnpReportEndorsement } from './verifySnpReport.ts';

export interface SnpVerifierOptions {
  /**
   * Roots to trust instead of AMD's pinned production roots (operators with custom roots, tests).
   * Never defaulted to anything but AMD's.
   */
  readonly trustAnchors?: AmdTrustAnchors;
}

/**
 * The `snp` verifier: CoCo SNP evidence (sev serde JSON report + optional certificate table).
 * With a `cert_chain`, the first VCEK/VLEK in it is the VEK (its ASK/ARK, when present, must chain
 * to the anchors); without one the VCEK comes from `context.collateral.getVcek` (AMD KDS, cached).
 */
export function createSnpVerifier(options: SnpVerifierOptions = {}): Verifier {
  return {
    tee: 'snp',
    async evaluate(evidence: Json, expected: VerificationExpectations, context: VerifierContext): Promise<VerifiedClaims[]> {
      const anchors = options.trustAnchors ?? amdTrustAnchors();
      const parsed = parseSnpEvidence(evidence);
      const endorsement = await selectEndorsement(parsed, context.collateral);
      await verifySnpReportAsync(parsed.report, endorsement, { anchors, now: context.now(), expected });
      return [{ teeClass: 'cpu', claims: snpClaims(parsed.report) }];
    },
  };
}

/** The `snp` verifier over AMD's production roots. */
export const snpVerifier: Verifier = createSnpVerifier();

async function selectEndorsement(evidence: SnpEvidence, collateral: CollateralSource): Promise<SnpReportEndorsement> {
  const chain = evidence.certChain;
  if (chain === undefined) {
    return { vek: parseCachedAmdCertificate(await fetchVcek(evidence.report, collateral), 'collateral.vcek'), kind: 'vcek' };
  }
  return endorsementFromCertEntries(chain);
}

async function fetchVcek(report: SnpReport, collateral: CollateralSource): Promise<Uint8Array> {
  const product: AmdProduct | undefined = productFromReport(report);
  if (product === undefined) {
    throw VerificationError.single('unsupported', 'snp.product', 'the product line is needed to fetch a VCEK; report version 3+ carries it', '>= 3', String(report.version));
  }
  if (report.chipId.every((byte) => byte === 0)) {
    throw VerificationError.single('verification_failed', 'snp.chip_id', 'chip id is masked (MASK_CHIP_ID): cannot fetch a VCEK; send the VEK in cert_chain');
  }
  if (collateral.getVcek === undefined) {
    throw VerificationError.single('collateral_unavailable', 'snp.vcek', 'no cert_chain in the evidence and no VCEK source configured');
  }
  const chipId = product === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId;
  try {
    return await collateral.getVcek(product, chipId, report.reportedTcb);
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    throw VerificationError.single('collateral_unavailable', 'snp.vcek', `fetching the VCEK failed: ${(error as Error).message}`);
  }
}

/**
 * The endorsement a certificate table carries: the first VCEK or VLEK is the VEK (upstream's
 * rule), ARK and ASK entries are checked against the anchors and fill in the chain.
 */
export function endorsementFromCertEntries(chain: readonly SnpCertEntry[]): SnpReportEndorsement {
  let ark: AmdCertificate | undefined;
  let intermediate: AmdCertificate | undefined;
  let vekEntry: { entry: SnpCertEntry; i: number } | undefined;
  for (const [i, entry] of chain.entries()) {
    if (entry.type === 'ARK') ark = parseCachedAmdCertificate(entry.data, `cert_chain[${i}]`);
    else if (entry.type === 'ASK') intermediate = parseCachedAmdCertificate(entry.data, `cert_chain[${i}]`);
    else if ((entry.type === 'VCEK' || entry.type === 'VLEK') && vekEntry === undefined) vekEntry = { entry, i };
  }
  if (vekEntry === undefined) {
    throw VerificationError.single('malformed_evidence', 'cert_chain', 'a certificate chain must include a VCEK or VLEK');
  }
  return {
    vek: parseCachedAmdCertificate(vekEntry.entry.data, `cert_chain[${vekEntry.i}]`),
    kind: vekEntry.entry.type === 'VLEK' ? 'vlek' : 'vcek',
    ark,
    intermediate,
  };
}
