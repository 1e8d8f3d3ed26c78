/**
 * Local verification of one NVIDIA device (upstream's `evaluate_device_locally` and
 * deps/verifier/src/nvidia/report.rs): the SPDM response signature (ECDSA P-384 over SHA-384 of
 * request || response-without-signature) by the chain's leaf, the chain to the pinned NVIDIA
 * Device Identity CA, the leaf's FWID against the report's, the requester nonce against the
 * expected runtime-data digest, and certificate revocation when the caller supplies a check.
 * Every failed check is reported, not only the first.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { bytesEqual, regularize, toHex } from '../binary/encoding.ts';
import type { ParsedCertificate } from '../dcap/x509.ts';
import type { JsonObject } from '../verifier.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import { checkNvidiaCertChain } from './nvidiaCertChain.ts';
import type { NvidiaDeviceEvidence } from './nvidiaEvidence.ts';
import { parseSpdmMeasurementReport, SPDM_NONCE_SIZE, type SpdmMeasurementReport } from './spdmMeasurements.ts';

/** Revocation status of certificate `index` (0 = leaf) of a device chain (e.g. from an OCSP answer or a CRL). */
export type RevocationCheck = (certificate: ParsedCertificate, issuer: ParsedCertificate, now: Date, index: number) => Promise<FailedCheck | undefined>;

export interface NvidiaDeviceOptions {
  /** SHA-256 fingerprints of the accepted root CAs. */
  readonly rootFingerprints: ReadonlySet<string>;
  readonly now: Date;
  /** The expected runtime-data digest; the SPDM nonce must equal its first 32 bytes (zero-padded). */
  readonly reportData: Uint8Array | undefined;
  /** Checks every non-root certificate when given (collateral was configured). */
  readonly revocation?: RevocationCheck;
}

export interface VerifiedNvidiaDevice {
  readonly report: SpdmMeasurementReport;
  readonly chain: readonly ParsedCertificate[];
  readonly claims: JsonObject;
}

/**
 * @throws VerificationError `malformed_evidence` (unparseable report or chain), `unsupported`
 *   (Blackwell: no local verification, as upstream) or `verification_failed` listing every failed check.
 */
export async function verifyNvidiaDevice(device: NvidiaDeviceEvidence, index: number, options: NvidiaDeviceOptions): Promise<VerifiedNvidiaDevice> {
  const what = `device ${index} (${device.arch})`;
  if (device.arch === 'Blackwell') {
    throw VerificationError.single('unsupported', 'nvidia.arch', `${what}: local verification supports Hopper GPUs and LS10 NVSwitches; use the Remote (NRAS) verifier for Blackwell`, 'Hopper or LS10', device.arch);
  }
  const report = parseSpdmMeasurementReport(device.evidence);
  const chain = checkNvidiaCertChain(device.certificatePem, options.rootFingerprints, options.now, what);
  const failures: FailedCheck[] = [...chain.failures];
  const fail = (check: string, message: string, expected?: string, found?: string): void => {
    failures.push({ check, message: `${what}: ${message}`, ...(expected === undefined ? {} : { expected }), ...(found === undefined ? {} : { found }) });
  };

  if (!verifyP384(report.signedBytes, report.signature, chain.leaf)) fail('nvidia.spdm.signature', 'the SPDM measurements are not signed by the leaf certificate');

  const reportFwid = report.response.opaque.fwid;
  // NVSwitch reports carry no FWID TLV (nvtrust's switch evidence); a GPU's must.
  if (reportFwid !== undefined || device.arch !== 'LS10') {
    if (typeof reportFwid !== 'string') fail('nvidia.fwid', 'the report carries no FWID');
    else if (chain.leafFwid === undefined) fail('nvidia.fwid', 'the leaf certificate carries no FWID (TCG DICE TcbInfo extension)');
    else if (chain.leafFwid !== reportFwid) fail('nvidia.fwid', "the FWID of the leaf certificate differs from the report's", reportFwid, chain.leafFwid);
  }

  // Upstream requires both versions; an NVSwitch report has no driver version.
  for (const key of device.arch === 'LS10' ? ['vbios_version'] : ['vbios_version', 'driver_version']) {
    if (typeof report.response.opaque[key] !== 'string') fail('nvidia.opaque_data', `the report carries no ${key}`);
  }

  if (options.reportData === undefined) fail('nvidia.nonce', 'no runtime data to bind: the SPDM nonce cannot be checked', 'report data', 'none');
  else {
    const expected = regularize(options.reportData, SPDM_NONCE_SIZE);
    if (!bytesEqual(expected, report.request.nonce)) fail('nvidia.nonce', 'the SPDM requester nonce is not the expected runtime-data digest', toHex(expected), toHex(report.request.nonce));
  }

  if (options.revocation !== undefined && chain.failures.length === 0) {
    for (let i = 0; i + 1 < chain.certificates.length; i += 1) {
      const failure = await options.revocation(chain.certificates[i] as ParsedCertificate, chain.certificates[i + 1] as ParsedCertificate, options.now, i);
      if (failure !== undefined) failures.push({ ...failure, message: `${what}: certificate ${i}: ${failure.message}` });
    }
  }

  if (failures.length > 0) throw new VerificationError('verification_failed', failures);
  return { report, chain: chain.certificates, claims: deviceClaims(device, report) };
}

/** Upstream's `NvDeviceReportAndCertClaim`: arch, uuid, measurements by index (hex), opaque data as `config`. */
function deviceClaims(device: NvidiaDeviceEvidence, report: SpdmMeasurementReport): JsonObject {
  const measurements: JsonObject = {};
  for (const block of report.response.blocks) measurements[String(block.index)] = toHex(block.value);
  return { arch: device.arch, uuid: device.uuid, measurements, config: report.response.opaque };
}

function verifyP384(data: Uint8Array, signature: Uint8Array, leaf: ParsedCertificate): boolean {
  try {
    const key = leaf.x509.publicKey;
    if (key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') return false;
    return cryptoVerify('sha384', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

