/**
 * What this build verifies, without loading a verifier: the configuration readers check
 * `verifier_config` against it (a KBS that never verifies evidence imports only this module).
 * `registry.ts` holds the verifiers themselves; registry.test.ts keeps the two lists equal.
 */
import type { TeeName } from './verifier.ts';

export { MAX_TRUSTED_AK_KEYS_LIMIT } from './tpm/trustedAks.ts';

/** TEE names that have a verifier in this build, sorted. */
export const SUPPORTED_TEES: readonly TeeName[] = ['az-snp-vtpm', 'az-tdx-vtpm', 'nvidia', 'sample', 'sampledevice', 'sgx', 'snp', 'tdx', 'tpm'];
