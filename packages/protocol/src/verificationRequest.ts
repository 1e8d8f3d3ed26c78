/**
 * What the KBS hands the attestation service for each piece of evidence (primary and device):
 * one `VerificationRequest` per TEE, the same shape for the builtin service and the gRPC client.
 */
import type { Json, TeeWireName } from './messages.ts';

/** Hash for structured runtime data (the KBS sends `sha512` for `se`, `sha384` for the rest). */
export type RuntimeDataHashAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** Runtime data as the guest bound it: the structured JSON the KBS built, or raw bytes. */
export type RuntimeDataInput = { readonly structured: Json } | { readonly raw: Uint8Array };

/** Init-data: the TOML document the guest was launched with, or its digest. */
export type InitDataInput = { readonly toml: string } | { readonly digest: Uint8Array };

export interface VerificationRequest {
  /** TEE name as on the wire (`sample`, `snp`, `az-snp-vtpm`, …). */
  readonly tee: TeeWireName;
  /** The evidence JSON value (already decoded from the transport's base64url). */
  readonly evidence: Json;
  readonly runtimeData?: RuntimeDataInput;
  readonly initData?: InitDataInput;
  /** Hash for structured runtime data; default `sha384`. */
  readonly runtimeDataHashAlgorithm?: RuntimeDataHashAlgorithm;
}
