import type { JsonObject } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import type { AmdProduct } from './amdRoots.ts';
import { amdTrustAnchors, type AmdTrustAnchors } from './amdTrustAnchors.ts';
import { parseSnpCertTable } from './certTable.ts';
import { snpClaims } from './snpClaims.ts';
import { parseSnpEvidence } from './snpEvidence.ts';
import { SNP_REPORT_SIZE } from './snpReport.ts';
import { endorsementFromCertEntries } from './snpVerifier.ts';
import { parseAmdCertificate } from './vekCertificate.ts';
import { verifyRawSnpReport } from './verifyRawSnpReport.ts';
import { verifySnpReport } from './verifySnpReport.ts';
import { fromBase64Lenient } from '../binary/encoding.ts';

export type SnpEvidenceFileFormat = 'raw-report' | 'coco-json' | 'configfs-tsm';

export interface SnpEvidenceFileOptions {
  /** VCEK/VLEK (PEM text or DER) when the file does not carry one. */
  readonly cert?: Uint8Array | string;
  readonly reportData?: Uint8Array;
  readonly initDataDigest?: Uint8Array;
  readonly now?: Date;
  readonly trustAnchors?: AmdTrustAnchors;
  readonly product?: AmdProduct;
  readonly maxVmpl?: number;
}

export interface SnpEvidenceFileResult {
  readonly format: SnpEvidenceFileFormat;
  readonly product: AmdProduct;
  readonly claims: JsonObject;
}

/**
 * Verifies an SNP evidence file offline, whatever form an operator has at hand: a raw 1184-byte
 * report (needs `cert`), CoCo guest JSON (`{"attestation_report", "cert_chain"}`; `cert` is used
 * when the chain is null) or a configfs-tsm JSON (`{"outblob", "auxblob"}`, certificates taken
 * from the auxblob table, else `cert`). No network: a missing VCEK is an error.
 *
 * @example
 * const { claims } = await verifySnpEvidenceFile(readFileSync('evidence.json'), { cert: readFileSync('vcek.pem', 'utf8'), reportData });
 */
export function verifySnpEvidenceFile(file: Uint8Array, options: SnpEvidenceFileOptions = {}): SnpEvidenceFileResult {
  const now = options.now ?? new Date();
  const common = {
    ...(options.reportData === undefined ? {} : { reportData: options.reportData }),
    ...(options.initDataDigest === undefined ? {} : { initDataDigest: options.initDataDigest }),
    ...(options.trustAnchors === undefined ? {} : { trustAnchors: options.trustAnchors }),
    ...(options.product === undefined ? {} : { product: options.product }),
    ...(options.maxVmpl === undefined ? {} : { maxVmpl: options.maxVmpl }),
    now,
  };
  const json = parseJsonFile(file);
  if (json === undefined) {
    if (file.byteLength !== SNP_REPORT_SIZE) {
      throw VerificationError.single('malformed_evidence', 'evidence', 'neither JSON nor a raw SNP report', `${SNP_REPORT_SIZE} bytes or JSON`, `${file.byteLength} bytes`);
    }
    if (options.cert === undefined) throw VerificationError.single('collateral_unavailable', 'snp.vcek', 'a raw report needs the VCEK/VLEK (--cert)');
    const result = verifyRawSnpReport(file, { ...common, vek: options.cert });
    return { format: 'raw-report', product: result.product, claims: result.claims };
  }
  if ('outblob' in json) {
    const report = fromBase64Lenient(typeof json['outblob'] === 'string' ? json['outblob'] : '', 'outblob');
    const aux = typeof json['auxblob'] === 'string' && json['auxblob'] !== '' ? parseSnpCertTable(fromBase64Lenient(json['auxblob'], 'auxblob')) : [];
    const hasVek = aux.some((entry) => entry.type === 'VCEK' || entry.type === 'VLEK');
    if (!hasVek && options.cert === undefined) throw VerificationError.single('collateral_unavailable', 'snp.vcek', 'the auxblob carries no VCEK/VLEK; pass --cert');
    const result = verifyRawSnpReport(report, hasVek ? { ...common, certTable: aux } : { ...common, vek: options.cert as Uint8Array | string });
    return { format: 'configfs-tsm', product: result.product, claims: result.claims };
  }
  const evidence = parseSnpEvidence(json);
  let endorsement;
  if (evidence.certChain !== undefined) endorsement = endorsementFromCertEntries(evidence.certChain);
  else if (options.cert !== undefined) endorsement = { vek: parseAmdCertificate(options.cert, 'cert'), kind: (evidence.report.keyInfo >> 2) % 8 === 1 ? ('vlek' as const) : ('vcek' as const) };
  else throw VerificationError.single('collateral_unavailable', 'snp.vcek', 'cert_chain is null; pass --cert');
  const verified = verifySnpReport(evidence.report, endorsement, {
    anchors: options.trustAnchors ?? amdTrustAnchors(),
    now,
    expected: { reportData: options.reportData, initDataDigest: options.initDataDigest },
    ...(options.product === undefined ? {} : { product: options.product }),
    ...(options.maxVmpl === undefined ? {} : { maxVmpl: options.maxVmpl }),
  });
  return { format: 'coco-json', product: verified.product, claims: snpClaims(evidence.report) };
}

function parseJsonFile(file: Uint8Array): Record<string, unknown> | undefined {
  const first = file.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first !== 0x7b) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // A raw report may start with 0x7b ('{') only if its version were 123: not an SNP report.
  }
  throw VerificationError.single('malformed_evidence', 'evidence', 'evidence file starts like JSON but is not a JSON object');
}
