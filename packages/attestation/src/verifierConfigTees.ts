/**
 * Startup refusal of `verifier_config` sub-tables that configure a verifier this build does not
 * have. Upstream compiles verifiers in by feature and names their config keys
 * `<tee>_verifier` (deps/verifier/src/lib.rs: `nvidia_verifier`, `tpm_verifier`, `snp_verifier`,
 * `dcap_verifier`, `nvidia_dpu_verifier`); a config that configures one we do not verify
 * (nvidia-dpu, cca, csv, se, hygondcu, ...) must not start and quietly answer every request for
 * that TEE with `unsupported_tee`. Keys that do not end in `_verifier` stay ignored as upstream
 * ignores them (legacy keys keep old files working).
 */
import { supportedTees } from '@trustee/verifiers';
import { AttestationError } from './attestationError.ts';
import type { JsonObject } from './json.ts';

/** `<name>_verifier` → the TEEs that table configures (any one of them verified = honoured). */
const VERIFIER_TABLES: Readonly<Record<string, readonly string[]>> = {
  snp_verifier: ['snp', 'az-snp-vtpm'],
  dcap_verifier: ['tdx', 'sgx', 'az-tdx-vtpm'],
  tpm_verifier: ['tpm'],
  nvidia_verifier: ['nvidia'],
  nvidia_dpu_verifier: ['nvidia-dpu'],
  cca_verifier: ['cca'],
  csv_verifier: ['csv'],
  se_verifier: ['se'],
  hygon_dcu_verifier: ['hygondcu'],
  hygondcu_verifier: ['hygondcu'],
};

/**
 * Throws `invalid_config` for every `verifier_config.<name>_verifier` whose TEE has no verifier
 * in this build, naming the TEEs that are verified.
 *
 * @example checkVerifierConfigTees({ nvidia_dpu_verifier: {} }, 'attestation_service.verifier_config') // throws
 */
export function checkVerifierConfigTees(verifierConfig: JsonObject, path: string): void {
  const verified = new Set<string>(supportedTees());
  for (const key of Object.keys(verifierConfig)) {
    const match = /^(.+)_verifier$/.exec(key);
    if (match === null) continue;
    const tees = VERIFIER_TABLES[key] ?? [(match[1] as string).replace(/_/g, '-')];
    if (tees.some((tee) => verified.has(tee))) continue;
    throw new AttestationError(
      'invalid_config',
      `${path}.${key}: the ${tees.join('/')} verifier is not built in trustee-ts, so this configuration cannot be honoured; ` +
        `verified TEEs: ${[...verified].sort().join(', ')}`,
    );
  }
}
