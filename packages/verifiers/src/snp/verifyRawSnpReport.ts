import type { JsonObject } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import type { AmdProduct } from './amdRoots.ts';
import { amdTrustAnchors, type AmdTrustAnchors } from './amdTrustAnchors.ts';
import { parseCachedAmdCertificate } from './certificateCache.ts';
import { snpClaims } from './snpClaims.ts';
import { parseSnpReport, signingKeyOf } from './snpReport.ts';
import { parseAmdCertificate, splitPemBundle } from './vekCertificate.ts';
import { verifySnpReport, type SnpReportEndorsement, type VerifiedSnpReport } from './verifySnpReport.ts';
import { endorsementFromCertEntries } from './snpVerifier.ts';
import type { SnpCertEntry } from './snpEvidence.ts';
import type { VekKind } from './verifyVekChain.ts';

export interface RawSnpReportOptions {
  /** The VCEK or VLEK, PEM text or DER bytes (or give `certTable`). */
  readonly vek?: Uint8Array | string;
  /** A GHCB certificate table / configfs-tsm auxblob, parsed with `parseSnpCertTable`. */
  readonly certTable?: readonly SnpCertEntry[];
  /** Which kind `vek` is; by default what the report's KEY_INFO says. */
  readonly kind?: VekKind;
  /** Expected report data (zero-padded/truncated to 64 bytes); unchecked when absent. */
  readonly reportData?: Uint8Array;
  /** Expected init-data digest against host_data (regularised to 32 bytes). */
  readonly initDataDigest?: Uint8Array;
  /** Verification time (certificate validity); default now. */
  readonly now?: Date;
  /** Roots to use instead of AMD's pinned ones. */
  readonly trustAnchors?: AmdTrustAnchors;
  /** KDS-style PEM bundle (ASK or ASVK, then ARK) to use as the intermediate, checked against the anchors. */
  readonly certChainPem?: string;
  /** Product line for v2 reports whose VEK does not name it. */
  readonly product?: AmdProduct;
  /** Highest VMPL accepted (default 0, as upstream). */
  readonly maxVmpl?: number;
}

export interface RawSnpReportResult extends VerifiedSnpReport {
  readonly claims: JsonObject;
}

/**
 * Verifies a raw 1184-byte SNP report (as read from `/dev/sev-guest` or configfs-tsm `outblob`)
 * with a given VCEK/VLEK, fully offline: the operator hook behind
 * `pnpm as verify --tee snp --evidence report.bin --cert vcek.pem [--report-data hex] [--now ISO]`.
 *
 * @example
 * const { product, claims } = verifyRawSnpReport(readFileSync('report.bin'), { vek: readFileSync('vcek.der') });
 */
export function verifyRawSnpReport(bytes: Uint8Array, options: RawSnpReportOptions): RawSnpReportResult {
  const report = parseSnpReport(bytes);
  let endorsement: SnpReportEndorsement;
  if (options.vek !== undefined) {
    const vek = parseCachedAmdCertificate(options.vek, 'vek');
    const signingKey = signingKeyOf(report.keyInfo);
    endorsement = { vek, kind: options.kind ?? (signingKey === 'vlek' ? 'vlek' : 'vcek') };
  } else if (options.certTable !== undefined) {
    endorsement = endorsementFromCertEntries(options.certTable);
  } else {
    throw VerificationError.single('malformed_evidence', 'vek', 'a VCEK/VLEK or a certificate table is needed');
  }
  if (options.certChainPem !== undefined) {
    const certs = splitPemBundle(options.certChainPem).map((der, i) => parseAmdCertificate(der, `cert_chain[${i}]`));
    if (certs.length === 0) throw VerificationError.single('malformed_evidence', 'cert_chain', 'no PEM certificate in the chain');
    for (const cert of certs) {
      endorsement = cert.subjectCn?.startsWith('ARK-') ? { ...endorsement, ark: cert } : { ...endorsement, intermediate: cert };
    }
  }
  const verified = verifySnpReport(
    report,
    endorsement,
    {
      anchors: options.trustAnchors ?? amdTrustAnchors(),
      now: options.now ?? new Date(),
      expected: { reportData: options.reportData, initDataDigest: options.initDataDigest },
      ...(options.product === undefined ? {} : { product: options.product }),
      ...(options.maxVmpl === undefined ? {} : { maxVmpl: options.maxVmpl }),
    },
  );
  return { ...verified, claims: snpClaims(report) };
}
