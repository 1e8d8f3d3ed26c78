import { timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { regularize, toHex } from '../binary/encoding.ts';
import type { VerificationExpectations } from '../verifier.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import type { AmdProduct } from './amdRoots.ts';
import type { AmdTrustAnchors } from './amdTrustAnchors.ts';
import { productFromName, productFromReport } from './product.ts';
import { signingKeyOf, SNP_SIG_ALGO_ECDSA_P384_SHA384, type SnpReport } from './snpReport.ts';
import type { AmdCertificate } from './vekCertificate.ts';
import { verifyVekChain, type VekKind } from './verifyVekChain.ts';

export interface SnpReportEndorsement {
  /** The VCEK or VLEK that signed the report. */
  readonly vek: AmdCertificate;
  readonly kind: VekKind;
  /** ARK / ASK-or-ASVK carried by the evidence, if any (anchors fill the gaps). */
  readonly ark?: AmdCertificate | undefined;
  readonly intermediate?: AmdCertificate | undefined;
}

export interface SnpCheckOptions {
  readonly anchors: AmdTrustAnchors;
  readonly now: Date;
  readonly expected: VerificationExpectations;
  /** Highest VMPL accepted; upstream accepts only 0 (the default). */
  readonly maxVmpl?: number;
  /** Product line to use when the report does not say (v2 reports carry no CPUID). */
  readonly product?: AmdProduct;
  /** Checks to skip because the caller performs them differently (az-snp-vtpm binds via the TPM quote). */
  readonly bindings?: 'report_and_host_data' | 'none';
}

export interface VerifiedSnpReport {
  readonly product: AmdProduct;
  readonly report: SnpReport;
}

/**
 * Every check that makes an SNP report trustworthy, collected rather than stopped at the first:
 * signature algorithm, product line, VEK chain to the anchors (and validity at `now`), key kind
 * against KEY_INFO, ECDSA P-384 report signature, reported TCB and chip id against the VEK
 * extensions, VMPL, and the report_data / host_data bindings (upstream's `regularize_data`).
 *
 * @example
 * verifySnpReport(parseSnpReport(bytes), { vek, kind: 'vcek' }, { anchors: amdTrustAnchors(), now: new Date(), expected });
 */
export function verifySnpReport(report: SnpReport, endorsement: SnpReportEndorsement, options: SnpCheckOptions): VerifiedSnpReport {
  return checkSnpReport(report, endorsement, options, verifyReportSignature(report, endorsement.vek));
}

/**
 * As `verifySnpReport`, with the ECDSA verification run on libuv's thread pool (node's callback
 * form of `crypto.verify`), so concurrent attestations use every core and the event loop stays free.
 */
export async function verifySnpReportAsync(report: SnpReport, endorsement: SnpReportEndorsement, options: SnpCheckOptions): Promise<VerifiedSnpReport> {
  return checkSnpReport(report, endorsement, options, await verifyReportSignatureAsync(report, endorsement.vek));
}

/** The checks of `verifySnpReport` given the outcome of the report signature verification. */
export function checkSnpReport(report: SnpReport, endorsement: SnpReportEndorsement, options: SnpCheckOptions, signatureValid: boolean): VerifiedSnpReport {
  const failures: FailedCheck[] = [];
  const { vek, kind } = endorsement;

  if (report.sigAlgo !== SNP_SIG_ALGO_ECDSA_P384_SHA384) {
    failures.push({ check: 'snp.sig_algo', message: 'unsupported signature algorithm', expected: '1 (ECDSA P-384/SHA-384)', found: String(report.sigAlgo) });
  }

  const reportProduct = productFromReport(report);
  const certProduct = productFromName(vek.productName);
  if (report.version >= 3 && reportProduct === undefined) {
    throw VerificationError.single(
      'unsupported',
      'snp.product',
      'processor family/model not supported',
      'Milan, Genoa or Turin',
      `family 0x${(report.cpuidFamId ?? 0).toString(16)} model 0x${(report.cpuidModId ?? 0).toString(16)}`,
    );
  }
  const product = reportProduct ?? options.product ?? certProduct;
  if (product === undefined) {
    throw VerificationError.single('unsupported', 'snp.product', 'cannot tell the product line of a version 2 report', 'Milan, Genoa or Turin', vek.productName ?? 'unknown');
  }
  if (certProduct !== undefined && certProduct !== product) {
    failures.push({ check: 'snp.vek.product', message: 'VEK belongs to another product line', expected: product, found: vek.productName ?? '?' });
  }

  const signingKey = signingKeyOf(report.keyInfo);
  if (signingKey !== kind) {
    failures.push({ check: 'snp.key_info', message: 'report was not signed by the kind of key provided', expected: kind, found: signingKey });
  }

  failures.push(...verifyVekChain({ product, kind, vek, ark: endorsement.ark, intermediate: endorsement.intermediate }, options.anchors, options.now));

  if (!isP384(vek)) {
    failures.push({ check: 'snp.vek.key', message: 'VEK public key is not ECDSA P-384', expected: 'ec secp384r1', found: `${vek.publicKey.asymmetricKeyType ?? '?'} ${vek.publicKey.asymmetricKeyDetails?.namedCurve ?? ''}`.trim() });
  } else if (!signatureValid) {
    failures.push({ check: 'snp.report.signature', message: `report signature does not verify with the ${kind.toUpperCase()}` });
  }

  failures.push(...checkTcb(report, vek, product));
  if (kind === 'vcek') failures.push(...checkChipId(report, vek, product));

  const maxVmpl = options.maxVmpl ?? 0;
  if (report.vmpl > maxVmpl) {
    failures.push({ check: 'snp.vmpl', message: 'report was not requested at the expected VMPL', expected: `<= ${maxVmpl}`, found: String(report.vmpl) });
  }

  if ((options.bindings ?? 'report_and_host_data') === 'report_and_host_data') {
    const { reportData, initDataDigest } = options.expected;
    if (reportData !== undefined) {
      const expected = regularize(reportData, 64);
      if (!timingSafeEqual(expected, report.reportData)) {
        failures.push({ check: 'snp.report_data', message: 'report data mismatch', expected: toHex(expected), found: toHex(report.reportData) });
      }
    }
    if (initDataDigest !== undefined) {
      const expected = regularize(initDataDigest, 32);
      if (!timingSafeEqual(expected, report.hostData)) {
        failures.push({ check: 'snp.host_data', message: 'host data (init-data digest) mismatch', expected: toHex(expected), found: toHex(report.hostData) });
      }
    }
  }

  if (failures.length > 0) throw new VerificationError('verification_failed', failures);
  return { product, report };
}

/**
 * ECDSA P-384 over SHA-384 of bytes [0, 0x2A0). r and s are stored little-endian and
 * zero-extended to 72 bytes; node wants big-endian r‖s of 48 bytes each.
 */
export function verifyReportSignature(report: SnpReport, vek: AmdCertificate): boolean {
  const signature = p1363Signature(report);
  if (signature === undefined || !isP384(vek)) return false;
  try {
    return cryptoVerify('sha384', report.signedBytes, { key: vek.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** `verifyReportSignature` on the thread pool. */
export function verifyReportSignatureAsync(report: SnpReport, vek: AmdCertificate): Promise<boolean> {
  const signature = p1363Signature(report);
  if (signature === undefined || !isP384(vek)) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify('sha384', report.signedBytes, { key: vek.publicKey, dsaEncoding: 'ieee-p1363' }, signature, (error, ok) => resolve(error === null && ok));
    } catch {
      resolve(false);
    }
  });
}

function isP384(vek: AmdCertificate): boolean {
  return vek.publicKey.asymmetricKeyType === 'ec' && vek.publicKey.asymmetricKeyDetails?.namedCurve === 'secp384r1';
}

function p1363Signature(report: SnpReport): Uint8Array | undefined {
  const r = littleEndianTo48(report.signature.r);
  const s = littleEndianTo48(report.signature.s);
  if (r === undefined || s === undefined) return undefined;
  const signature = new Uint8Array(96);
  signature.set(r, 0);
  signature.set(s, 48);
  return signature;
}

function littleEndianTo48(value: Uint8Array): Uint8Array | undefined {
  for (let i = 48; i < value.byteLength; i += 1) if (value[i] !== 0) return undefined;
  return value.subarray(0, 48).slice().reverse();
}

function checkTcb(report: SnpReport, vek: AmdCertificate, product: AmdProduct): FailedCheck[] {
  const failures: FailedCheck[] = [];
  const fields = [
    ['microcode', report.reportedTcb.microcode, vek.tcb.microcode],
    ['snp', report.reportedTcb.snp, vek.tcb.snp],
    ['tee', report.reportedTcb.tee, vek.tcb.tee],
    ['bootloader', report.reportedTcb.bootloader, vek.tcb.bootloader],
  ] as Array<[string, number | undefined, number | undefined]>;
  if (product === 'Turin') fields.push(['fmc', report.reportedTcb.fmc, vek.tcb.fmc]);
  for (const [name, reported, certified] of fields) {
    if (reported !== certified) {
      failures.push({
        check: `snp.reported_tcb.${name}`,
        message: `reported TCB ${name} differs from the VEK certificate`,
        expected: certified === undefined ? 'extension present' : String(certified),
        found: reported === undefined ? 'absent' : String(reported),
      });
    }
  }
  return failures;
}

/** VCEKs are per chip: hwID (64 bytes; Turin: 8 bytes = chip_id[0..8]) must equal the report's chip id. */
function checkChipId(report: SnpReport, vek: AmdCertificate, product: AmdProduct): FailedCheck[] {
  const chipId = product === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId;
  const hwid = vek.hwid;
  if (hwid === undefined || hwid.byteLength !== chipId.byteLength || !timingSafeEqual(hwid, chipId)) {
    return [{ check: 'snp.chip_id', message: 'chip id differs from the VCEK hwID', expected: hwid === undefined ? 'hwID extension' : toHex(hwid), found: toHex(chipId) }];
  }
  return [];
}
