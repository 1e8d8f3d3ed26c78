/**
 * The `nvidia` evidence as guest-components' attester sends it
 * (attestation-agent/attester/src/nvidia/nvat.rs, read by upstream's
 * deps/verifier/src/nvidia/mod.rs `NvDeviceEvidence`):
 *
 *   {"device_evidence_list": [{"arch": "HOPPER" | "Hopper" | "BLACKWELL" | "Blackwell" | "LS10",
 *                              "uuid": "...",            // optional, default "unknown"
 *                              "evidence": hex or base64 of the SPDM request || response,
 *                              "certificate": base64 of the PEM device chain, ...}]}
 *
 * Other members (NVAT adds nonce, driver_version, vbios_version, version) are ignored like
 * upstream's serde does; none of them is trusted.
 */
import { fromBase64Lenient, fromHex } from '../binary/encoding.ts';
import { objectFromJson, stringFromJson } from '../binary/jsonBytes.ts';
import type { Json, TeeClass } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';

/** Upstream's `Architecture` (serde names and aliases); the value is its Display form used in claims. */
const ARCHITECTURES: Readonly<Record<string, NvidiaArch>> = {
  Blackwell: 'Blackwell',
  BLACKWELL: 'Blackwell',
  Hopper: 'Hopper',
  HOPPER: 'Hopper',
  LS10: 'LS10',
};

export type NvidiaArch = 'Blackwell' | 'Hopper' | 'LS10';

/** A GPU or an NVSwitch, as upstream classes them (and names NRAS's endpoints). */
export function classOf(arch: NvidiaArch): Extract<TeeClass, 'gpu' | 'switch'> {
  return arch === 'LS10' ? 'switch' : 'gpu';
}

export interface NvidiaDeviceEvidence {
  readonly arch: NvidiaArch;
  readonly uuid: string;
  /** The evidence string as sent (NRAS takes it as base64). */
  readonly evidenceText: string;
  /** Decoded SPDM request || response. */
  readonly evidence: Uint8Array;
  /** The `certificate` member as sent: base64 of the PEM chain. */
  readonly certificateText: string;
  /** The decoded PEM chain. */
  readonly certificatePem: string;
}

/** A node carries at most 8 GPUs and 4 NVSwitches; anything far beyond is not a real topology. */
export const MAX_DEVICES = 16;
/** Largest evidence string accepted per device (real reports are ~4 KB, hex ~8 KB). */
export const MAX_EVIDENCE_CHARS = 128 * 1024;
/** Largest certificate string accepted per device (real chains are ~5 KB of PEM, base64 ~7 KB). */
export const MAX_CERTIFICATE_CHARS = 96 * 1024;

/**
 * @example parseNvidiaEvidence({ device_evidence_list: [{ arch: 'HOPPER', evidence, certificate }] })
 * @throws VerificationError `malformed_evidence` naming the member.
 */
export function parseNvidiaEvidence(value: Json): NvidiaDeviceEvidence[] {
  const top = objectFromJson(value, 'nvidia');
  const list = top.device_evidence_list;
  if (!Array.isArray(list)) throw malformed('nvidia.device_evidence_list', 'expected an array of devices');
  if (list.length === 0) throw malformed('nvidia.device_evidence_list', 'no device evidence', '>= 1 device', '0');
  if (list.length > MAX_DEVICES) throw malformed('nvidia.device_evidence_list', 'too many devices', `<= ${MAX_DEVICES}`, String(list.length));
  return list.map((entry: unknown, index) => parseDevice(entry, `nvidia.device_evidence_list[${index}]`));
}

function parseDevice(value: unknown, field: string): NvidiaDeviceEvidence {
  const device = objectFromJson(value, field);
  const archText = stringFromJson(device.arch, `${field}.arch`);
  const arch = Object.hasOwn(ARCHITECTURES, archText) ? ARCHITECTURES[archText] : undefined;
  if (arch === undefined) throw malformed(`${field}.arch`, 'unknown device architecture', Object.keys(ARCHITECTURES).join(', '), JSON.stringify(archText.slice(0, 32)));
  const uuid = device.uuid === undefined ? 'unknown' : stringFromJson(device.uuid, `${field}.uuid`);
  if (uuid.length > 256) throw malformed(`${field}.uuid`, 'uuid too long', '<= 256 chars', String(uuid.length));
  const evidenceText = stringFromJson(device.evidence, `${field}.evidence`);
  if (evidenceText.length > MAX_EVIDENCE_CHARS) throw malformed(`${field}.evidence`, 'evidence too large', `<= ${MAX_EVIDENCE_CHARS} chars`, String(evidenceText.length));
  const certificateText = stringFromJson(device.certificate, `${field}.certificate`);
  if (certificateText.length > MAX_CERTIFICATE_CHARS) throw malformed(`${field}.certificate`, 'certificate chain too large', `<= ${MAX_CERTIFICATE_CHARS} chars`, String(certificateText.length));
  // Upstream tries hex first (the original encoding) and falls back to base64 (NVAT's).
  const evidence = /^(?:[0-9a-fA-F]{2})+$/.test(evidenceText.trim()) ? fromHex(evidenceText.trim(), `${field}.evidence`) : fromBase64Lenient(evidenceText, `${field}.evidence`);
  const certificatePem = Buffer.from(fromBase64Lenient(certificateText.replace(/\s+/g, ''), `${field}.certificate`)).toString('latin1');
  return { arch, uuid, evidenceText, evidence, certificateText, certificatePem };
}

function malformed(check: string, message: string, expected?: string, found?: string): VerificationError {
  return VerificationError.single('malformed_evidence', check, message, expected, found);
}
