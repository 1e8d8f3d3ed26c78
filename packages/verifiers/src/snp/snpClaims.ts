import { toBase64, toHex } from '../binary/encoding.ts';
import type { JsonObject } from '../verifier.ts';
import { platformFields, policyFields, type SnpReport } from './snpReport.ts';

/**
 * Claims of the `snp` verifier, with upstream's names and types (numbers, booleans, lower-case
 * hex). `report_data` and `init_data` (host_data) are hoisted out by the AS.
 */
export function snpClaims(report: SnpReport): JsonObject {
  const policy = policyFields(report.policy);
  const platform = platformFields(report.platInfo);
  return {
    policy_abi_major: policy.abiMajor,
    policy_abi_minor: policy.abiMinor,
    policy_smt_allowed: policy.smtAllowed,
    policy_migrate_ma: policy.migrateMa,
    policy_debug_allowed: policy.debugAllowed,
    policy_single_socket: policy.singleSocket,
    reported_tcb_bootloader: report.reportedTcb.bootloader,
    reported_tcb_tee: report.reportedTcb.tee,
    reported_tcb_snp: report.reportedTcb.snp,
    reported_tcb_microcode: report.reportedTcb.microcode,
    platform_tsme_enabled: platform.tsmeEnabled,
    platform_smt_enabled: platform.smtEnabled,
    measurement: toHex(report.measurement),
    report_data: toHex(report.reportData),
    init_data: toHex(report.hostData),
    chip_id: toHex(report.chipId),
  };
}

/**
 * The SNP part of the `az-snp-vtpm` claims: upstream formats every value as a string and the
 * measurement/report_data/host_data as standard base64 (the vTPM part then overwrites
 * `report_data` and `init_data`).
 */
export function azSnpClaims(report: SnpReport): JsonObject {
  const policy = policyFields(report.policy);
  const platform = platformFields(report.platInfo);
  return {
    policy_abi_major: String(policy.abiMajor),
    policy_abi_minor: String(policy.abiMinor),
    policy_smt_allowed: String(policy.smtAllowed),
    policy_migrate_ma: String(policy.migrateMa),
    policy_debug_allowed: String(policy.debugAllowed),
    policy_single_socket: String(policy.singleSocket),
    reported_tcb_bootloader: String(report.reportedTcb.bootloader),
    reported_tcb_tee: String(report.reportedTcb.tee),
    reported_tcb_snp: String(report.reportedTcb.snp),
    reported_tcb_microcode: String(report.reportedTcb.microcode),
    platform_tsme_enabled: String(platform.tsmeEnabled),
    platform_smt_enabled: String(platform.smtEnabled),
    measurement: toBase64(report.measurement),
    report_data: toBase64(report.reportData),
    init_data: toBase64(report.hostData),
  };
}
