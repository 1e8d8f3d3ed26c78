import type { JsonObject } from '../verifier.ts';
import type { NvidiaDeviceEvidence } from './nvidiaEvidence.ts';

/** Sends one device's evidence to NVIDIA's attestation service and returns its verified claims. */
export interface NrasClient {
  attest(device: NvidiaDeviceEvidence, nonceHex: string, now: Date, index: number): Promise<JsonObject>;
}
