import { loadIntelCollateral } from '../collateral/intelBundle.ts';
import { staticIntelCollateral } from '../collateral/intelStatic.ts';
import type { IntelCollateral, Json, VerifiedClaims } from '../verifier.ts';
import type { DcapTrustOptions } from '../dcap/verifyQuote.ts';
import { createTdxVerifier } from './tdxVerifier.ts';

export interface OfflineTdxOptions extends DcapTrustOptions {
  /** Expected report data (upstream: regularised to 64 bytes); omitted = not checked. */
  readonly reportData?: Uint8Array;
  /** Expected init-data digest (MRCONFIGID, regularised to 48 bytes); omitted = not checked. */
  readonly initDataDigest?: Uint8Array;
  /** Verification time (default: now). */
  readonly now?: Date;
  /** Collateral bundles, or a path to a bundle file / a directory of bundle files. */
  readonly collateral: readonly IntelCollateral[] | string;
}

/**
 * Verifies TDX evidence with collateral from memory or disk and no network: what
 * `pnpm as verify --tee tdx --evidence F [--report-data hex] [--now ISO] [--collateral file|dir]` runs.
 *
 * @example
 * const [{ claims }] = await verifyTdxEvidenceOffline(JSON.parse(text), { collateral: 'collateral/', now: new Date('2025-07-01T00:00:00Z') });
 */
export async function verifyTdxEvidenceOffline(evidence: Json, options: OfflineTdxOptions): Promise<VerifiedClaims[]> {
  const bundles = typeof options.collateral === 'string' ? await loadIntelCollateral(options.collateral) : options.collateral;
  const now = options.now ?? new Date();
  const trust = options.trustAnchors === undefined ? {} : { trustAnchors: options.trustAnchors };
  return createTdxVerifier(trust).evaluate(
    evidence,
    { reportData: options.reportData, initDataDigest: options.initDataDigest },
    { now: () => now, collateral: staticIntelCollateral(bundles) },
  );
}
