/**
 * The `nvidia` verifier (upstream deps/verifier/src/nvidia/mod.rs): one claim set per device,
 * class `gpu` (Hopper, Blackwell) or `switch` (LS10), plus a `ppcie` claim set when the devices
 * form a protected-PCIe topology. Local mode checks the SPDM evidence here; Remote mode sends
 * each device to NRAS and trusts its signed answer (see nrasClient.ts). In Local mode, when the
 * collateral source offers NVIDIA revocation status (`getNvidiaRevocation`: OCSP answers / CRLs,
 * offline or fetched and cached), every certificate of each chain is judged by it
 * (nvidiaRevocation.ts); without it no revocation is checked, as upstream.
 */
import type { Json, JsonObject, VerificationExpectations, VerifiedClaims, Verifier, VerifierContext } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { NVIDIA_DEVICE_ROOT_SHA256 } from './nvidiaDeviceRoot.ts';
import { classOf, parseNvidiaEvidence } from './nvidiaEvidence.ts';
import type { NrasClient } from './nrasClient.ts';
import { ppcieClaims } from './ppcie.ts';
import { verifyNvidiaDevice, type RevocationCheck } from './verifyNvidiaDevice.ts';
import { judgeNvidiaRevocation } from './nvidiaRevocation.ts';
import { regularize, toHex } from '../binary/encoding.ts';
import { SPDM_NONCE_SIZE } from './spdmMeasurements.ts';

export interface NvidiaVerifierOptions {
  /**
   * Root CA fingerprints (SHA-256 of DER, hex) to trust instead of the pinned NVIDIA Device
   * Identity CA (tests, lab PKIs). Never defaulted to anything but NVIDIA's.
   */
  readonly rootFingerprints?: readonly string[];
  /** Remote mode: verify through NRAS with this client. Absent: Local mode. */
  readonly nras?: NrasClient;
}

/**
 * @example
 * const local = createNvidiaVerifier();
 * const remote = createNvidiaVerifier({ nras: createNrasClient({}) });
 */
export function createNvidiaVerifier(options: NvidiaVerifierOptions = {}): Verifier {
  const roots = new Set((options.rootFingerprints ?? [NVIDIA_DEVICE_ROOT_SHA256]).map((f) => f.toLowerCase()));
  return {
    tee: 'nvidia',
    async evaluate(evidence: Json, expected: VerificationExpectations, context: VerifierContext): Promise<VerifiedClaims[]> {
      const devices = parseNvidiaEvidence(evidence);
      if (expected.reportData === undefined) {
        throw VerificationError.single('verification_failed', 'nvidia.nonce', 'NVIDIA evidence needs runtime data to bind its SPDM nonce', 'report data', 'none');
      }
      const results: VerifiedClaims[] = [];
      const source = context.collateral.getNvidiaRevocation?.bind(context.collateral);
      const revocation: RevocationCheck | undefined =
        source === undefined ? undefined : async (certificate, issuer, now, index) => judgeNvidiaRevocation(certificate, issuer, index, await source(certificate.der, issuer.der, { online: index > 0 }), now);
      // One device at a time like upstream: the first failing device aborts.
      for (const [index, device] of devices.entries()) {
        let claims: JsonObject;
        if (options.nras === undefined) {
          const verified = await verifyNvidiaDevice(device, index, { rootFingerprints: roots, now: context.now(), reportData: expected.reportData, ...(revocation === undefined ? {} : { revocation }) });
          claims = verified.claims;
        } else {
          claims = await options.nras.attest(device, toHex(regularize(expected.reportData, SPDM_NONCE_SIZE)), context.now(), index);
        }
        results.push({ teeClass: classOf(device.arch), claims });
      }
      const ppcie = ppcieClaims(results);
      if (ppcie !== undefined) results.push({ teeClass: 'ppcie', claims: ppcie });
      return results;
    },
  };
}

/** The Local-mode `nvidia` verifier over NVIDIA's pinned root. */
export const nvidiaVerifier: Verifier = createNvidiaVerifier();
