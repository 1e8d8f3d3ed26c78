/**
 * The contract every TEE verifier implements: evidence in, claims out, no I/O of its own.
 * Clock and collateral (VCEKs, PCS TCB info, CRLs, ...) are injected through the context so
 * that tests pass small real implementations instead of mocks.
 */

import { TEE_NAMES, type Json, type JsonObject, type TeeWireName } from '@trustee/protocol';

/** TEE names and JSON are the wire protocol's (`@trustee/protocol` owns them). */
export { TEE_NAMES, type Json, type JsonObject };
export type TeeName = TeeWireName;

export function isTeeName(value: unknown): value is TeeName {
  return typeof value === 'string' && (TEE_NAMES as readonly string[]).includes(value);
}

/** Upstream's TEE classes; a submod of the EAR token is named `<class><index>` (`cpu0`, `gpu0`). */
export type TeeClass = 'cpu' | 'gpu' | 'switch' | 'ppcie' | 'dcu' | 'nvidia-dpu';


export interface VerificationExpectations {
  /**
   * The runtime-data digest the evidence must carry (upstream's `expected_report_data`), or
   * `undefined` when the caller supplied no runtime data (upstream `NotProvided`: not checked).
   */
  readonly reportData: Uint8Array | undefined;
  /** The init-data digest the evidence must carry, or `undefined` when none was supplied. */
  readonly initDataDigest: Uint8Array | undefined;
}

/** Where collateral comes from; implemented by the caching collateral service. */
export interface CollateralSource {
  /** AMD VCEK (DER) for a chip id and reported TCB; product is `Milan` | `Genoa` | `Turin`. */
  getVcek?(product: string, chipId: Uint8Array, tcb: SnpTcbVersion): Promise<Uint8Array>;
  /** AMD ASK/ASVK + ARK chain (PEM text as served by KDS `cert_chain` / `vlek_cert_chain`). */
  getAmdCertChain?(product: string, kind: 'vcek' | 'vlek'): Promise<string>;
  /** Intel PCS collateral for a TDX/SGX quote (see the tdx verifier for the shape). */
  getIntelCollateral?(request: IntelCollateralRequest): Promise<IntelCollateral>;
  /**
   * Revocation status (OCSP responses, CRLs; DER) for an NVIDIA device certificate (DER) and its
   * issuer's (DER); see nvidia/nvidiaRevocation.ts. `online: false` (the firmware's leaf, which
   * NVIDIA's OCSP service does not know): only what is already at hand. Absent: the nvidia
   * verifier checks no revocation.
   */
  getNvidiaRevocation?(certificate: Uint8Array, issuer: Uint8Array, options?: { readonly online?: boolean }): Promise<{ readonly ocsp: readonly Uint8Array[]; readonly crls: readonly Uint8Array[] }>;
}

export interface SnpTcbVersion {
  readonly bootloader: number;
  readonly tee: number;
  readonly snp: number;
  readonly microcode: number;
  /** Turin only. */
  readonly fmc?: number;
}

export interface IntelCollateralRequest {
  readonly tee: 'tdx' | 'sgx';
  /** FMSPC, 6 bytes as 12 hex chars (uppercase as PCS expects). */
  readonly fmspc: string;
  /** `processor` or `platform`, from the PCK certificate's issuer. */
  readonly pckCa: 'processor' | 'platform';
}

/** Intel DCAP collateral as PCS/PCCS returns it (text kept as received: signatures cover it). */
export interface IntelCollateral {
  /** PEM chain that signs TCB info (header `TCB-Info-Issuer-Chain` / `SGX-TCB-Info-Issuer-Chain`). */
  readonly tcbInfoIssuerChain: string;
  /** The JSON text of `{"tcbInfo": {...}, "signature": "..."}`. */
  readonly tcbInfo: string;
  readonly qeIdentityIssuerChain: string;
  /** The JSON text of `{"enclaveIdentity": {...}, "signature": "..."}`. */
  readonly qeIdentity: string;
  /** PEM chain for the PCK CRL. */
  readonly pckCrlIssuerChain: string;
  /** Root CA CRL, DER. */
  readonly rootCaCrl: Uint8Array;
  /** PCK CRL, DER. */
  readonly pckCrl: Uint8Array;
}

export interface VerifierContext {
  /** Current time; verification of validity windows uses this, never `Date.now()` directly. */
  readonly now: () => Date;
  readonly collateral: CollateralSource;
}

/** What a verifier returns for one piece of evidence (one evidence may yield several). */
export interface VerifiedClaims {
  readonly teeClass: TeeClass;
  /**
   * Claims with upstream's names and types. By convention they include `report_data` and,
   * when init-data was checked, `init_data` (the AS hoists both out of the TEE claims).
   */
  readonly claims: JsonObject;
}

export interface Verifier {
  readonly tee: TeeName;
  /**
   * Verifies `evidence` (the JSON value the guest sent) and returns its claims, or throws a
   * `VerificationError` that lists every failed check.
   */
  evaluate(evidence: Json, expected: VerificationExpectations, context: VerifierContext): Promise<VerifiedClaims[]>;
}
