/**
 * NVIDIA GPUs and NVSwitches (SPDM measurements), the `nvidia` verifier.
 *
 * Deliberate differences from upstream Trustee (deps/verifier/src/nvidia):
 * 1. Local mode also verifies LS10 NVSwitches (class `switch`); upstream verifies only Hopper
 *    locally. Their reports carry no driver version and no FWID, so only the VBIOS version is
 *    required and the leaf's FWID is compared only when the report carries one.
 * 2. SPDM codes are checked (request 0xE0 asking for a signature, response 0x60), measurement
 *    records must be consumed exactly, indices must be unique, and bytes after the signature
 *    must be zero padding; upstream reads past none of these but checks none either.
 * 3. Certificate validity windows and CA basic constraints are checked against the
 *    verification clock (upstream relies on OpenSSL's defaults at the wall clock).
 * 4. Opaque-data types upstream does not know (NVSwitch firmware sends 26) are kept as
 *    `opaque_type_<n>` hex instead of failing the whole report.
 */
export { parseSpdmMeasurementReport, OPAQUE_DATA_TYPES, SPDM_NONCE_SIZE, SPDM_REQUEST_SIZE, SPDM_SIGNATURE_SIZE, type SpdmMeasurementReport, type SpdmMeasurementBlock } from './spdmMeasurements.ts';
export { parseNvidiaEvidence, classOf, type NvidiaArch, type NvidiaDeviceEvidence } from './nvidiaEvidence.ts';
export { checkNvidiaCertChain, OID_DICE_TCB_INFO, type NvidiaChainCheck } from './nvidiaCertChain.ts';
export { verifyNvidiaDevice, type NvidiaDeviceOptions, type VerifiedNvidiaDevice, type RevocationCheck } from './verifyNvidiaDevice.ts';
export { createNvidiaVerifier, nvidiaVerifier, type NvidiaVerifierOptions } from './nvidiaVerifier.ts';
export { NVIDIA_DEVICE_ROOT_PEM, NVIDIA_DEVICE_ROOT_SHA256 } from './nvidiaDeviceRoot.ts';
export { ppcieClaims } from './ppcie.ts';
export { judgeNvidiaRevocation, nvidiaOcspKey, nvidiaOcspRequest, REVOCATION_MAX_AGE_MS, MAX_REVOCATION_BYTES, type NvidiaRevocationStatus } from './nvidiaRevocation.ts';
export { createNrasClient, NRAS_URL, NRAS_JWKS_URL, type NrasClient, type NrasClientOptions } from './nrasClient.ts';
