/**
 * The attestation-service core configuration, declared once as zod schemas and used by both
 * upstream shapes: the AS's `as-config.json` (top level) and the KBS's `[attestation_service]`
 * table for the builtin AS. Keys are those of upstream's `attestation-service/src/config.rs`
 * (`rvps_config`, `attestation_token_broker`, `verifier_config`); every table is strict, so an
 * unknown or misspelled key is refused with its path, and a `verifier_config.<tee>_verifier`
 * table for a verifier this build does not have stops the start instead of answering that TEE
 * with `unsupported_tee` later.
 */
import { fail, validateConfig } from '@trustee/config';
import { storageTypeSchema, type StorageType } from '@trustee/storage';
// The verifiers' schemas without the verifiers: a KBS loads this module for every config, also
// one that never verifies evidence (services/kbs/src/passportBoundary.test.ts).
import { dcapVerifierConfigSchema, MAX_TRUSTED_AK_KEYS_LIMIT, snpVerifierConfigSchema, SUPPORTED_TEES } from '@trustee/verifiers/supported';
import { z } from 'zod';
import type { JsonObject } from '@trustee/protocol';
import { nvidiaVerifierTableSchema } from './nvidiaVerifierTable.ts';

export type { StorageType };

/** Upstream's storage namespace of the attestation policies; keys are `<policy id>.rego`, values the Rego text. */
export const POLICY_NAMESPACE = 'attestation_service_policy';

export interface TokenSignerConfig {
  /** PEM EC P-256 private key (PKCS#8 or SEC1). */
  readonly keyPath: string;
  /** PEM chain whose certificates become the header JWK's `x5c`, in file order. */
  readonly certPath?: string;
  /** Becomes the header JWK's `x5u`. */
  readonly certUrl?: string;
}

export interface TokenBrokerConfig {
  readonly durationMin: number;
  readonly issuerName: string;
  readonly developerName: string;
  readonly buildName: string;
  readonly profileName: string;
  readonly verboseToken: boolean;
  /** Absent: a P-256 key is generated once and persisted in the key-value store. */
  readonly signer?: TokenSignerConfig;
}

export type RvpsConfig =
  | { readonly type: 'BuiltIn'; readonly storageType?: StorageType; readonly extractors?: JsonObject }
  | { readonly type: 'GrpcRemote'; readonly address: string };

export interface AttestationServiceConfig {
  readonly rvps: RvpsConfig;
  readonly tokenBroker: TokenBrokerConfig;
  /** `verifier_config` as validated; each verifier reads its own sub-table. */
  readonly verifierConfig: JsonObject;
}

export const TOKEN_BROKER_DEFAULTS: TokenBrokerConfig = {
  durationMin: 5,
  issuerName: 'CoCo-Attestation-Service',
  developerName: 'https://confidentialcontainers.org',
  buildName: 'attestation-service 0.1.0',
  profileName: 'tag:github.com,2024:confidential-containers/Trustee',
  verboseToken: true,
};

export const DEFAULT_RVPS_ADDRESS = 'http://127.0.0.1:50003';

/** Largest accepted minute count: keeps `exp` and cookie lifetimes far inside safe integers. */
export const MAX_MINUTES = 10 * 365 * 24 * 60;

const nonEmpty = z.string().min(1);

const tokenBrokerSchema = z
  .strictObject({
    // Upstream's only token type; older configs still name it.
    type: z.literal('Ear').optional(),
    duration_min: z.number().int().min(0).max(MAX_MINUTES).optional(),
    issuer_name: z.string().optional(),
    developer_name: z.string().optional(),
    build_name: z.string().optional(),
    profile_name: z.string().optional(),
    verbose_token: z.boolean().optional(),
    signer: z.strictObject({ key_path: nonEmpty, cert_path: nonEmpty.optional(), cert_url: nonEmpty.optional() }).optional(),
  })
  .transform((raw): TokenBrokerConfig => {
    const d = TOKEN_BROKER_DEFAULTS;
    const signer = raw.signer;
    return {
      durationMin: raw.duration_min ?? d.durationMin,
      issuerName: raw.issuer_name ?? d.issuerName,
      developerName: raw.developer_name ?? d.developerName,
      buildName: raw.build_name ?? d.buildName,
      profileName: raw.profile_name ?? d.profileName,
      verboseToken: raw.verbose_token ?? d.verboseToken,
      ...(signer === undefined
        ? {}
        : { signer: { keyPath: signer.key_path, ...(signer.cert_path === undefined ? {} : { certPath: signer.cert_path }), ...(signer.cert_url === undefined ? {} : { certUrl: signer.cert_url }) } }),
    };
  });

const rvpsConfigSchema = z
  .strictObject({
    type: z.enum(['BuiltIn', 'GrpcRemote']).optional(),
    storage_type: storageTypeSchema.optional(),
    extractors: z.strictObject({ swid_extractor: z.strictObject({}).optional() }).optional(),
    address: nonEmpty.optional(),
  })
  .transform((raw, ctx): RvpsConfig => {
    if (raw.type === 'GrpcRemote') {
      for (const key of ['storage_type', 'extractors'] as const) if (raw[key] !== undefined) fail(ctx, [key], 'applies to type = "BuiltIn" only (the remote RVPS has its own config)');
      const address = raw.address ?? DEFAULT_RVPS_ADDRESS;
      // Upstream prepends http:// when the address has no scheme.
      return { type: 'GrpcRemote', address: /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(address) ? address : `http://${address}` };
    }
    if (raw.address !== undefined) fail(ctx, ['address'], 'applies to type = "GrpcRemote" only');
    return {
      type: 'BuiltIn',
      ...(raw.storage_type === undefined ? {} : { storageType: raw.storage_type }),
      ...(raw.extractors === undefined ? {} : { extractors: raw.extractors as JsonObject }),
    };
  });

/** Refuses a table for a verifier this build does not have, naming the TEEs it verifies. */
function notBuilt(tees: string) {
  return z.unknown().superRefine((_value, ctx) => {
    fail(ctx, [], `the ${tees} verifier is not built in trustee-ts, so this configuration cannot be honoured; verified TEEs: ${[...SUPPORTED_TEES].sort().join(', ')}`);
  });
}

/** Upstream's `VerifierConfig` (deps/verifier/src/lib.rs). */
export const verifierConfigSchema = z.strictObject({
  snp_verifier: snpVerifierConfigSchema.optional(),
  dcap_verifier: dcapVerifierConfigSchema.optional(),
  nvidia_verifier: nvidiaVerifierTableSchema.optional(),
  // Upstream's samples carry these; loaded by verifiersFromTrustAnchorConfig (an unreadable directory stops the start).
  tpm_verifier: z
    .strictObject({ trusted_ak_keys_dir: nonEmpty.optional(), max_trusted_ak_keys: z.number().int().min(1).max(MAX_TRUSTED_AK_KEYS_LIMIT).optional() })
    .superRefine((table, ctx) => {
      if (table.max_trusted_ak_keys !== undefined && table.trusted_ak_keys_dir === undefined) fail(ctx, ['max_trusted_ak_keys'], 'applies with trusted_ak_keys_dir only');
    })
    .optional(),
  nvidia_dpu_verifier: notBuilt('nvidia-dpu').optional(),
  cca_verifier: notBuilt('cca').optional(),
  csv_verifier: notBuilt('csv').optional(),
  se_verifier: notBuilt('se').optional(),
  hygon_dcu_verifier: notBuilt('hygondcu').optional(),
  hygondcu_verifier: notBuilt('hygondcu').optional(),
});

/** The attestation-core keys, for the AS file's and the KBS table's schemas to spread. */
export const attestationCoreShape = {
  rvps_config: rvpsConfigSchema.optional(),
  attestation_token_broker: tokenBrokerSchema.optional(),
  verifier_config: verifierConfigSchema.optional(),
};

/** The validated core keys → the service's config. */
export function attestationCoreConfig(raw: { rvps_config?: RvpsConfig | undefined; attestation_token_broker?: TokenBrokerConfig | undefined; verifier_config?: object | undefined }): AttestationServiceConfig {
  return {
    rvps: raw.rvps_config ?? { type: 'BuiltIn' },
    tokenBroker: raw.attestation_token_broker ?? TOKEN_BROKER_DEFAULTS,
    verifierConfig: (raw.verifier_config ?? {}) as JsonObject,
  };
}

/**
 * Validates an attestation-core table held apart from its file (tests, tools). `path` prefixes
 * the messages. Throws ConfigError naming the offending key.
 *
 * @example parseAttestationServiceConfig({ verifier_config: { dcap_verifier: { collateral_service: 'https://pccs:8081' } } }, 'as-config.json')
 */
export function parseAttestationServiceConfig(raw: unknown, path: string): AttestationServiceConfig {
  return attestationCoreConfig(validateConfig(z.strictObject(attestationCoreShape).optional(), raw ?? undefined, { at: path }).value ?? {});
}
