import { bytesFromJsonArray, objectFromJson, u64FromJson, uintFromJson } from '../binary/jsonBytes.ts';
import type { SnpTcbVersion } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { checkVersion, encodeSnpReport, SNP_SIGNED_LENGTH, tcbLayoutFor, type SnpReport, type SnpVersion, type TcbLayout } from './snpReport.ts';

const U8 = 0xff;
const U32 = 0xffffffff;

/**
 * Parses the serde form of the `sev` crate's `AttestationReport` (what CoCo guests send as
 * `attestation_report`: numbers and numeric byte arrays) and re-encodes it to the binary layout,
 * reserved bytes zero, so that the signature can be checked over `signedBytes`.
 *
 * @example
 * const report = parseSnpReportJson(evidence.attestation_report);
 */
export function parseSnpReportJson(value: unknown): SnpReport {
  const o = objectFromJson(value, 'attestation_report');
  const field = (name: string): unknown => o[name];
  const path = (name: string): string => `attestation_report.${name}`;
  const version = uintFromJson(field('version'), path('version'), U32);
  checkVersion(version);
  const optionalU8 = (name: string): number | undefined => {
    const raw = field(name);
    return raw === undefined || raw === null ? undefined : uintFromJson(raw, path(name), U8);
  };
  const optionalU64 = (name: string): bigint | undefined => {
    const raw = field(name);
    return raw === undefined || raw === null ? undefined : u64FromJson(raw, path(name));
  };
  const cpuidFamId = optionalU8('cpuid_fam_id');
  const cpuidModId = optionalU8('cpuid_mod_id');
  const cpuidStep = optionalU8('cpuid_step');
  if (version >= 3 && (cpuidFamId === undefined || cpuidModId === undefined || cpuidStep === undefined)) {
    throw VerificationError.single('malformed_evidence', path('cpuid_fam_id'), 'report version 3+ must carry cpuid_fam_id/cpuid_mod_id/cpuid_step');
  }
  const layout = tcbLayoutFor(version, cpuidFamId);
  const tcb = (name: string): SnpTcbVersion => parseTcb(field(name), path(name), layout);
  const signature = objectFromJson(field('signature'), path('signature'));
  const report: Omit<SnpReport, 'signedBytes'> = {
    version,
    guestSvn: uintFromJson(field('guest_svn'), path('guest_svn'), U32),
    policy: u64FromJson(field('policy'), path('policy')),
    familyId: bytesFromJsonArray(field('family_id'), path('family_id'), 16),
    imageId: bytesFromJsonArray(field('image_id'), path('image_id'), 16),
    vmpl: uintFromJson(field('vmpl'), path('vmpl'), U32),
    sigAlgo: uintFromJson(field('sig_algo'), path('sig_algo'), U32),
    currentTcb: tcb('current_tcb'),
    platInfo: u64FromJson(field('plat_info'), path('plat_info')),
    keyInfo: uintFromJson(field('key_info'), path('key_info'), U32),
    reportData: bytesFromJsonArray(field('report_data'), path('report_data'), 64),
    measurement: bytesFromJsonArray(field('measurement'), path('measurement'), 48),
    hostData: bytesFromJsonArray(field('host_data'), path('host_data'), 32),
    idKeyDigest: bytesFromJsonArray(field('id_key_digest'), path('id_key_digest'), 48),
    authorKeyDigest: bytesFromJsonArray(field('author_key_digest'), path('author_key_digest'), 48),
    reportId: bytesFromJsonArray(field('report_id'), path('report_id'), 32),
    reportIdMa: bytesFromJsonArray(field('report_id_ma'), path('report_id_ma'), 32),
    reportedTcb: tcb('reported_tcb'),
    cpuidFamId: version >= 3 ? cpuidFamId : undefined,
    cpuidModId: version >= 3 ? cpuidModId : undefined,
    cpuidStep: version >= 3 ? cpuidStep : undefined,
    chipId: bytesFromJsonArray(field('chip_id'), path('chip_id'), 64),
    committedTcb: tcb('committed_tcb'),
    current: parseVersion(field('current'), path('current')),
    committed: parseVersion(field('committed'), path('committed')),
    launchTcb: tcb('launch_tcb'),
    launchMitVector: version >= 5 ? optionalU64('launch_mit_vector') : undefined,
    currentMitVector: version >= 5 ? optionalU64('current_mit_vector') : undefined,
    signature: {
      r: bytesFromJsonArray(signature['r'], path('signature.r'), 72),
      s: bytesFromJsonArray(signature['s'], path('signature.s'), 72),
    },
  };
  const bytes = encodeSnpReport(report);
  return { ...report, signedBytes: bytes.subarray(0, SNP_SIGNED_LENGTH) };
}

function parseTcb(value: unknown, field: string, layout: TcbLayout): SnpTcbVersion {
  const o = objectFromJson(value, field);
  const fmcRaw = o['fmc'];
  const fmc = fmcRaw === undefined || fmcRaw === null ? undefined : uintFromJson(fmcRaw, `${field}.fmc`, U8);
  if (layout === 'turin' && fmc === undefined) {
    throw VerificationError.single('malformed_evidence', `${field}.fmc`, 'a Turin TCB must carry fmc');
  }
  if (layout !== 'turin' && fmc !== undefined) {
    throw VerificationError.single('malformed_evidence', `${field}.fmc`, 'fmc exists only in Turin TCBs', 'null', String(fmc));
  }
  const tcb = {
    bootloader: uintFromJson(o['bootloader'], `${field}.bootloader`, U8),
    tee: uintFromJson(o['tee'], `${field}.tee`, U8),
    snp: uintFromJson(o['snp'], `${field}.snp`, U8),
    microcode: uintFromJson(o['microcode'], `${field}.microcode`, U8),
  };
  return fmc === undefined ? tcb : { ...tcb, fmc };
}

function parseVersion(value: unknown, field: string): SnpVersion {
  const o = objectFromJson(value, field);
  return {
    major: uintFromJson(o['major'], `${field}.major`, U8),
    minor: uintFromJson(o['minor'], `${field}.minor`, U8),
    build: uintFromJson(o['build'], `${field}.build`, U8),
  };
}

/** The serde form of a parsed report (what a guest would send), for tests and tooling. */
export function snpReportToJson(report: SnpReport): Record<string, unknown> {
  const arr = (b: Uint8Array): number[] => Array.from(b);
  const tcb = (t: SnpTcbVersion): Record<string, unknown> => ({ fmc: t.fmc ?? null, bootloader: t.bootloader, tee: t.tee, snp: t.snp, microcode: t.microcode });
  const json: Record<string, unknown> = {
    version: report.version,
    guest_svn: report.guestSvn,
    policy: Number(report.policy),
    family_id: arr(report.familyId),
    image_id: arr(report.imageId),
    vmpl: report.vmpl,
    sig_algo: report.sigAlgo,
    current_tcb: tcb(report.currentTcb),
    plat_info: Number(report.platInfo),
    key_info: report.keyInfo,
    report_data: arr(report.reportData),
    measurement: arr(report.measurement),
    host_data: arr(report.hostData),
    id_key_digest: arr(report.idKeyDigest),
    author_key_digest: arr(report.authorKeyDigest),
    report_id: arr(report.reportId),
    report_id_ma: arr(report.reportIdMa),
    reported_tcb: tcb(report.reportedTcb),
    cpuid_fam_id: report.cpuidFamId ?? null,
    cpuid_mod_id: report.cpuidModId ?? null,
    cpuid_step: report.cpuidStep ?? null,
    chip_id: arr(report.chipId),
    committed_tcb: tcb(report.committedTcb),
    current: { ...report.current },
    committed: { ...report.committed },
    launch_tcb: tcb(report.launchTcb),
    launch_mit_vector: report.launchMitVector === undefined ? null : Number(report.launchMitVector),
    current_mit_vector: report.currentMitVector === undefined ? null : Number(report.currentMitVector),
    signature: { r: arr(report.signature.r), s: arr(report.signature.s) },
  };
  return json;
}
