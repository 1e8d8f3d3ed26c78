/**
 * What this build verifies, without loading a verifier: the configuration readers check
 * `verifier_config` against it and the schemas of verifierConfigSchemas.ts (a KBS that never
 * verifies evidence imports only these two modules of this package).
 * `registry.ts` holds the verifiers themselves; registry.test.ts keeps the two lists equal.
 */
import type { TeeName } from './verifier.ts';

export { MAX_TRUSTED_AK_KEYS_LIMIT, snpVerifierConfigSchema, dcapVerifierConfigSchema } from './verifierConfigSchemas.ts';

/** TEE names that have a verifier in this build, sorted. */
export const SUPPORTED_TEES: readonly TeeName[] = ['az-snp-vtpm', 'az-tdx-vtpm', 'nvidia', 'sample', 'sampledevice', 'sgx', 'snp', 'tdx', 'tpm'];
