/**
 * The schemas of the `verifier_config` tables that configure a verifier of this package, apart
 * from the verifiers: the configuration readers (packages/attestation/src/config.ts, which the
 * KBS loads for every config) validate with them without loading a verifier. The verifiers read
 * the validated tables with parseSnpVerifierConfig / parseDcapVerifierConfig.
 */
import { z } from 'zod';

const httpUrl = z.string().refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'expected an http(s) URL');

/**
 * Upstream's `verifier_config.snp_verifier` (`{"vcek_sources": [{"type": "KDS", "base_url"?},
 * {"type": "OfflineStore", "path"?}]}`, serde `tag = "type"`) plus our `trust_anchors_path`
 * (read by @trustee/attestation). Absent config or list = `[KDS at kdsintf.amd.com]`.
 */
export const snpVerifierConfigSchema = z.strictObject({
  vcek_sources: z
    .array(z.discriminatedUnion('type', [z.strictObject({ type: z.literal('KDS'), base_url: httpUrl.optional() }), z.strictObject({ type: z.literal('OfflineStore'), path: z.string().min(1).optional() })]))
    .optional(),
  trust_anchors_path: z.string().min(1).optional(),
});

/**
 * Upstream's `verifier_config.dcap_verifier` (`QcnlConfig`): `collateral_service` required
 * when the table is present; plus our `trust_anchors_path` (read by @trustee/attestation).
 */
export const dcapVerifierConfigSchema = z.strictObject({
  collateral_service: z.string().refine((value) => URL.canParse(value) && ['https:', 'http:', 'file:'].includes(new URL(value).protocol), 'expected a PCS/PCCS http(s) URL or a file:// path'),
  tcb_update_type: z.enum(['early', 'standard']).optional(),
  use_secure_cert: z.boolean().optional(),
  trust_anchors_path: z.string().min(1).optional(),
});

/** Largest accepted `tpm_verifier.max_trusted_ak_keys`: an explicit bound on what one start reads. */
export const MAX_TRUSTED_AK_KEYS_LIMIT = 10_000;
