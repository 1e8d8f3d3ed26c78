import { ByteReader } from '../binary/byteReader.ts';
import type { SnpTcbVersion } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';

/** Size of an SNP ATTESTATION_REPORT (AMD SEV-SNP ABI, table "ATTESTATION_REPORT structure"). */
export const SNP_REPORT_SIZE = 0x4a0;
/** The signature covers bytes [0, 0x2A0). */
export const SNP_SIGNED_LENGTH = 0x2a0;
export const SNP_REPORT_VERSION_MIN = 2;
export const SNP_REPORT_VERSION_MAX = 5;
/** SIG_ALGO 1 = ECDSA P-384 with SHA-384. */
export const SNP_SIG_ALGO_ECDSA_P384_SHA384 = 1;

export interface SnpVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

/** A parsed SNP attestation report; integers are little-endian in the binary form. */
export interface SnpReport {
  readonly version: number;
  readonly guestSvn: number;
  readonly policy: bigint;
  readonly familyId: Uint8Array;
  readonly imageId: Uint8Array;
  readonly vmpl: number;
  readonly sigAlgo: number;
  readonly currentTcb: SnpTcbVersion;
  readonly platInfo: bigint;
  readonly keyInfo: number;
  readonly reportData: Uint8Array;
  readonly measurement: Uint8Array;
  readonly hostData: Uint8Array;
  readonly idKeyDigest: Uint8Array;
  readonly authorKeyDigest: Uint8Array;
  readonly reportId: Uint8Array;
  readonly reportIdMa: Uint8Array;
  readonly reportedTcb: SnpTcbVersion;
  /** CPUID family/model/stepping: present from report version 3 on. */
  readonly cpuidFamId: number | undefined;
  readonly cpuidModId: number | undefined;
  readonly cpuidStep: number | undefined;
  readonly chipId: Uint8Array;
  readonly committedTcb: SnpTcbVersion;
  readonly current: SnpVersion;
  readonly committed: SnpVersion;
  readonly launchTcb: SnpTcbVersion;
  /** Version 5 on. */
  readonly launchMitVector: bigint | undefined;
  readonly currentMitVector: bigint | undefined;
  /** r and s, 72 bytes each, little-endian as in the report. */
  readonly signature: { readonly r: Uint8Array; readonly s: Uint8Array };
  /** Bytes [0, 0x2A0) exactly as signed (the raw report, or the re-encoded JSON form). */
  readonly signedBytes: Uint8Array;
}

/** TCB byte layout depends on the generation: Turin moved the fields and added FMC. */
export type TcbLayout = 'pre-turin' | 'turin';

/** Turin is CPU family 0x1A; everything older (and v2 reports, which carry no CPUID) uses the old layout. */
export function tcbLayoutFor(version: number, cpuidFamId: number | undefined): TcbLayout {
  return version >= 3 && cpuidFamId === 0x1a ? 'turin' : 'pre-turin';
}

export function decodeTcb(bytes: Uint8Array, layout: TcbLayout): SnpTcbVersion {
  const b = (i: number): number => bytes[i] as number;
  return layout === 'turin'
    ? { fmc: b(0), bootloader: b(1), tee: b(2), snp: b(3), microcode: b(7) }
    : { bootloader: b(0), tee: b(1), snp: b(6), microcode: b(7) };
}

export function encodeTcb(tcb: SnpTcbVersion, layout: TcbLayout): Uint8Array {
  return layout === 'turin'
    ? Uint8Array.from([tcb.fmc ?? 0, tcb.bootloader, tcb.tee, tcb.snp, 0, 0, 0, tcb.microcode])
    : Uint8Array.from([tcb.bootloader, tcb.tee, 0, 0, 0, 0, tcb.snp, tcb.microcode]);
}

/**
 * Parses a raw 1184-byte SNP report (versions 2 to 5). Every read is bounds-checked; a wrong size
 * or an unsupported version is `malformed_evidence`.
 *
 * @example
 * const report = parseSnpReport(readFileSync('report.bin'));
 * report.reportedTcb.microcode;
 */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.byteLength !== SNP_REPORT_SIZE) {
    throw VerificationError.single('malformed_evidence', 'snp.report.size', 'an SNP report is 1184 bytes', String(SNP_REPORT_SIZE), String(bytes.byteLength));
  }
  const r = new ByteReader(bytes, 'snp.report');
  const version = r.u32le('version');
  checkVersion(version);
  const guestSvn = r.u32le('guest_svn');
  const policy = r.u64le('policy');
  const familyId = r.bytes(16, 'family_id');
  const imageId = r.bytes(16, 'image_id');
  const vmpl = r.u32le('vmpl');
  const sigAlgo = r.u32le('sig_algo');
  const currentTcbRaw = r.bytes(8, 'current_tcb');
  const platInfo = r.u64le('plat_info');
  const keyInfo = r.u32le('key_info');
  r.skip(4);
  const reportData = r.bytes(64, 'report_data');
  const measurement = r.bytes(48, 'measurement');
  const hostData = r.bytes(32, 'host_data');
  const idKeyDigest = r.bytes(48, 'id_key_digest');
  const authorKeyDigest = r.bytes(48, 'author_key_digest');
  const reportId = r.bytes(32, 'report_id');
  const reportIdMa = r.bytes(32, 'report_id_ma');
  const reportedTcbRaw = r.bytes(8, 'reported_tcb');
  const cpuid = r.bytes(3, 'cpuid');
  r.skip(21);
  const chipId = r.bytes(64, 'chip_id');
  const committedTcbRaw = r.bytes(8, 'committed_tcb');
  const current = readVersion(r, 'current');
  const committed = readVersion(r, 'committed');
  const launchTcbRaw = r.bytes(8, 'launch_tcb');
  const launchMitVector = r.u64le('launch_mit_vector');
  const currentMitVector = r.u64le('current_mit_vector');
  r.seek(SNP_SIGNED_LENGTH, 'signature');
  const sigR = r.bytes(72, 'signature.r');
  const sigS = r.bytes(72, 'signature.s');

  const hasCpuid = version >= 3;
  const cpuidFamId = hasCpuid ? (cpuid[0] as number) : undefined;
  const layout = tcbLayoutFor(version, cpuidFamId);
  return {
    version,
    guestSvn,
    policy,
    familyId,
    imageId,
    vmpl,
    sigAlgo,
    currentTcb: decodeTcb(currentTcbRaw, layout),
    platInfo,
    keyInfo,
    reportData,
    measurement,
    hostData,
    idKeyDigest,
    authorKeyDigest,
    reportId,
    reportIdMa,
    reportedTcb: decodeTcb(reportedTcbRaw, layout),
    cpuidFamId,
    cpuidModId: hasCpuid ? (cpuid[1] as number) : undefined,
    cpuidStep: hasCpuid ? (cpuid[2] as number) : undefined,
    chipId,
    committedTcb: decodeTcb(committedTcbRaw, layout),
    current,
    committed,
    launchTcb: decodeTcb(launchTcbRaw, layout),
    launchMitVector: version >= 5 ? launchMitVector : undefined,
    currentMitVector: version >= 5 ? currentMitVector : undefined,
    signature: { r: sigR, s: sigS },
    signedBytes: bytes.subarray(0, SNP_SIGNED_LENGTH),
  };
}

export function checkVersion(version: number): void {
  if (version < SNP_REPORT_VERSION_MIN || version > SNP_REPORT_VERSION_MAX) {
    throw VerificationError.single(
      'malformed_evidence',
      'snp.report.version',
      'unsupported attestation report version',
      `${SNP_REPORT_VERSION_MIN}..${SNP_REPORT_VERSION_MAX}`,
      String(version),
    );
  }
}

function readVersion(r: ByteReader, field: string): SnpVersion {
  const build = r.u8(`${field}.build`);
  const minor = r.u8(`${field}.minor`);
  const major = r.u8(`${field}.major`);
  r.skip(1);
  return { major, minor, build };
}

/**
 * Re-encodes a report to its 1184-byte binary form (reserved bytes zero), as upstream does to
 * check the signature of the JSON form: the signature then verifies only if every field survived.
 */
export function encodeSnpReport(report: Omit<SnpReport, 'signedBytes'>): Uint8Array {
  const out = new Uint8Array(SNP_REPORT_SIZE);
  const view = new DataView(out.buffer);
  const layout = tcbLayoutFor(report.version, report.cpuidFamId);
  view.setUint32(0x00, report.version, true);
  view.setUint32(0x04, report.guestSvn, true);
  view.setBigUint64(0x08, report.policy, true);
  out.set(report.familyId, 0x10);
  out.set(report.imageId, 0x20);
  view.setUint32(0x30, report.vmpl, true);
  view.setUint32(0x34, report.sigAlgo, true);
  out.set(encodeTcb(report.currentTcb, layout), 0x38);
  view.setBigUint64(0x40, report.platInfo, true);
  view.setUint32(0x48, report.keyInfo, true);
  out.set(report.reportData, 0x50);
  out.set(report.measurement, 0x90);
  out.set(report.hostData, 0xc0);
  out.set(report.idKeyDigest, 0xe0);
  out.set(report.authorKeyDigest, 0x110);
  out.set(report.reportId, 0x140);
  out.set(report.reportIdMa, 0x160);
  out.set(encodeTcb(report.reportedTcb, layout), 0x180);
  if (report.version >= 3) {
    out[0x188] = report.cpuidFamId ?? 0;
    out[0x189] = report.cpuidModId ?? 0;
    out[0x18a] = report.cpuidStep ?? 0;
  }
  out.set(report.chipId, 0x1a0);
  out.set(encodeTcb(report.committedTcb, layout), 0x1e0);
  out.set([report.current.build, report.current.minor, report.current.major], 0x1e8);
  out.set([report.committed.build, report.committed.minor, report.committed.major], 0x1ec);
  out.set(encodeTcb(report.launchTcb, layout), 0x1f0);
  if (report.version >= 5) {
    view.setBigUint64(0x1f8, report.launchMitVector ?? 0n, true);
    view.setBigUint64(0x200, report.currentMitVector ?? 0n, true);
  }
  out.set(report.signature.r, 0x2a0);
  out.set(report.signature.s, 0x2e8);
  return out;
}

/** KEY_INFO bits 4:2: which key signed the report. */
export type SnpSigningKey = 'vcek' | 'vlek' | 'none' | 'reserved';
export function signingKeyOf(keyInfo: number): SnpSigningKey {
  const value = (keyInfo >>> 2) & 0x7;
  return value === 0 ? 'vcek' : value === 1 ? 'vlek' : value === 7 ? 'none' : 'reserved';
}

/** Guest policy bits (ABI spec, GUEST_POLICY). */
export function policyFields(policy: bigint): {
  abiMinor: number;
  abiMajor: number;
  smtAllowed: boolean;
  migrateMa: boolean;
  debugAllowed: boolean;
  singleSocket: boolean;
} {
  const bit = (n: bigint): boolean => ((policy >> n) & 1n) === 1n;
  return {
    abiMinor: Number(policy & 0xffn),
    abiMajor: Number((policy >> 8n) & 0xffn),
    smtAllowed: bit(16n),
    migrateMa: bit(18n),
    debugAllowed: bit(19n),
    singleSocket: bit(20n),
  };
}

/** PLATFORM_INFO bits. */
export function platformFields(platInfo: bigint): { smtEnabled: boolean; tsmeEnabled: boolean } {
  return { smtEnabled: (platInfo & 1n) === 1n, tsmeEnabled: ((platInfo >> 1n) & 1n) === 1n };
}
