/**
 * `verifier_config` → the collateral the verifiers fetch through (upstream trustee
 * `attestation-service/docs/config.md`): AMD VCEKs and CA chains from `snp_verifier.vcek_sources`
 * (KDS base URLs and OfflineStore directories, tried in order), Intel DCAP collateral from
 * `dcap_verifier.collateral_service` (PCS/PCCS URL or a `file://` bundle), NVIDIA
 * device-certificate revocation from `nvidia_verifier.revocation_dir` / `ocsp_url` (Local mode;
 * none when neither is set). Online answers are cached in the key-value store (namespaces
 * `collateral_amd`, `collateral_intel`, `collateral_nvidia`), so a restart or a second replica does
 * not refetch.
 */
import {
  createAmdVcekSources,
  createIntelCollateralSource,
  createNvidiaRevocationSource,
  parseDcapVerifierConfig,
  parseSnpVerifierConfig,
  type CollateralSource,
  type FetchFunction,
} from '@trustee/verifiers';
import type { KeyValueStore } from '@trustee/storage';
import { AttestationError } from './attestationError.ts';
import { own, type JsonObject } from '@trustee/protocol';
import { parseNvidiaVerifierConfig } from './nvidiaVerifierTable.ts';

export interface VerifierCollateralDeps {
  readonly store: KeyValueStore;
  readonly now?: () => Date;
  /** HTTP client for KDS/PCS (default: global fetch). */
  readonly fetch?: FetchFunction;
  /** Per-request timeout for KDS/PCS. */
  readonly timeoutMs?: number;
}

/**
 * Builds the collateral source a `verifier_config` table describes. Absent sub-tables take
 * upstream's defaults: AMD KDS at kdsintf.amd.com, Intel PCS with `early` TCB updates.
 *
 * @example
 * const collateral = collateralFromVerifierConfig(config.verifierConfig, { store });
 * @throws AttestationError `invalid_config` naming the offending key.
 */
export function collateralFromVerifierConfig(verifierConfig: JsonObject, deps: VerifierCollateralDeps): CollateralSource {
  const options = {
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
  };
  let amd: CollateralSource;
  let intel: CollateralSource;
  try {
    amd = createAmdVcekSources(parseSnpVerifierConfig(own(verifierConfig, 'snp_verifier'), 'verifier_config.snp_verifier'), { store: deps.store, ...options });
    intel = createIntelCollateralSource(parseDcapVerifierConfig(own(verifierConfig, 'dcap_verifier'), 'verifier_config.dcap_verifier'), {
      store: deps.store,
      ...(deps.now === undefined ? {} : { now: deps.now }),
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
      ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
    });
  } catch (error) {
    throw new AttestationError('invalid_config', (error as Error).message, { cause: error });
  }
  const nvidiaConfig = parseNvidiaVerifierConfig(verifierConfig);
  if (nvidiaConfig?.revocationDir === undefined && nvidiaConfig?.ocspUrl === undefined) return { ...amd, ...intel };
  const nvidia = createNvidiaRevocationSource({
    store: deps.store,
    ...(nvidiaConfig.revocationDir === undefined ? {} : { dir: nvidiaConfig.revocationDir }),
    ...(nvidiaConfig.ocspUrl === undefined ? {} : { ocspUrl: nvidiaConfig.ocspUrl }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
  });
  return { ...amd, ...intel, getNvidiaRevocation: nvidia.getNvidiaRevocation };
}
