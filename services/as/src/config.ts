/**
 * Loads upstream's `as-config.json` (attestation-service/src/config.rs `Config`) — or the same
 * document as TOML or YAML, by extension — through one zod schema: the attestation core keys
 * from @trustee/attestation, `storage_backend` from @trustee/storage, and trustee-ts's `admin`.
 * No file means every default, like upstream: in-memory storage, built-in RVPS, a signing key
 * that lives as long as the process.
 */
import { attestationCoreConfig, attestationCoreShape, type AttestationServiceConfig } from '@trustee/attestation';
import { bearerJwtSchema, type IdentityProviderConfig } from '@trustee/auth';
import { ConfigError, fail, readConfigFile, validateConfig } from '@trustee/config';
import { storageBackendSchema, type StorageBackendConfig, type StorageType } from '@trustee/storage';
import { z } from 'zod';

export { ConfigError };

/**
 * `admin` (trustee-ts; upstream's AS has no admin authentication): who may call the operations
 * that change or reveal policies and reference values, in the KBS's `bearer_jwt` format.
 */
export interface AsAdminConfig {
  readonly identityProviders: readonly IdentityProviderConfig[];
  /** Set/get/list/delete policy need the admin token (default false: upstream leaves them open). */
  readonly protectPolicies: boolean;
  /** RegisterReferenceValue needs the admin token (default false: upstream leaves it open). */
  readonly protectRegister: boolean;
}

export interface AsConfig {
  readonly attestation: AttestationServiceConfig;
  readonly admin?: AsAdminConfig;
  readonly storage: StorageBackendConfig;
  /** `rvps_config.storage_type` for the built-in RVPS (upstream's override). */
  readonly rvpsStorageType?: StorageType;
  /** Things an operator must hear about at startup. */
  readonly warnings: readonly string[];
}

const adminSchema = z
  .strictObject({ bearer_jwt: bearerJwtSchema, protect_policies: z.boolean().optional(), protect_register: z.boolean().optional() })
  .transform((raw): AsAdminConfig => ({ identityProviders: raw.bearer_jwt, protectPolicies: raw.protect_policies ?? false, protectRegister: raw.protect_register ?? false }));

function asConfigSchema(env: Readonly<Record<string, string | undefined>>) {
  return z
    .strictObject({
      ...attestationCoreShape,
      storage_backend: storageBackendSchema('storage_backend', env),
      admin: adminSchema.optional(),
      // In upstream's own sample configs, read by nothing since upstream moved to storage_backend.
      work_dir: z.string().optional(),
    })
    .transform((raw, ctx) => {
      const attestation = attestationCoreConfig(raw);
      const rvpsStorageType = attestation.rvps.type === 'BuiltIn' ? attestation.rvps.storageType : undefined;
      if (rvpsStorageType === 'Postgres' && raw.storage_backend.postgres === undefined) fail(ctx, ['rvps_config', 'storage_type'], 'Postgres needs storage_backend.backends.postgres (or POSTGRES_URL)');
      if (rvpsStorageType === 'Redis' && raw.storage_backend.redis === undefined) fail(ctx, ['rvps_config', 'storage_type'], 'Redis needs storage_backend.backends.redis (or REDIS_URL)');
      return { attestation, storage: raw.storage_backend, admin: raw.admin, rvpsStorageType, workDir: raw.work_dir };
    });
}

export interface ParseAsConfigOptions {
  readonly where?: string;
  readonly allowUnknown?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses an already-read config value (`undefined` = no file).
 *
 * @throws ConfigError with a path-precise message, e.g. `as-config.json: storage_backend.storage_type: ...`.
 */
export function parseAsConfig(raw: unknown, options: ParseAsConfigOptions = {}): AsConfig {
  const { value, warnings: unknownKeys } = validateConfig(asConfigSchema(options.env ?? process.env), raw ?? {}, { where: options.where ?? 'as-config.json', ...(options.allowUnknown === undefined ? {} : { allowUnknown: options.allowUnknown }) });
  const { attestation, storage, admin, rvpsStorageType } = value;
  const warnings: string[] = [...unknownKeys, ...adminWarnings(admin)];
  if (value.workDir !== undefined) warnings.push('work_dir is not used (nor by upstream since storage_backend): data goes where storage_backend says');
  if (storage.storageType === 'Memory' || rvpsStorageType === 'Memory') {
    warnings.push(
      'WARNING: storage_backend is Memory (upstream default): policies, reference values, the token signing key and collateral caches are lost when this process exits. Set storage_backend.storage_type to Sqlite (one machine) or Postgres/Redis (replicas) to persist them.',
    );
  }
  if (attestation.tokenBroker.signer === undefined && storage.storageType === 'Memory') {
    warnings.push('WARNING: no attestation_token_broker.signer: tokens are signed with a key generated for this process only; relying parties must refetch the JWKS after every restart.');
  }
  return { attestation, storage, ...(admin === undefined ? {} : { admin }), ...(rvpsStorageType === undefined ? {} : { rvpsStorageType }), warnings };
}

function adminWarnings(admin: AsAdminConfig | undefined): string[] {
  const open: string[] = [];
  if (admin?.protectPolicies !== true) open.push('set/get/list/delete attestation policy');
  if (admin?.protectRegister !== true) open.push('RegisterReferenceValue');
  const warnings: string[] = [];
  if (admin === undefined) warnings.push('WARNING: no admin section: ListReferenceValues/DeleteReferenceValue are refused (PERMISSION_DENIED).');
  if (open.length > 0) {
    warnings.push(
      `WARNING: ${open.join(' and ')} answer ANYONE who can reach this AS (upstream behaviour). Set admin.bearer_jwt with admin.protect_policies and admin.protect_register = true (see services/as/README.md).`,
    );
  }
  return warnings;
}

/** Reads and parses a config file (JSON, or TOML/YAML by extension); no path = every default. */
export async function loadAsConfig(path: string | undefined, options: Omit<ParseAsConfigOptions, 'where'> = {}): Promise<AsConfig> {
  if (path === undefined) return parseAsConfig(undefined, options);
  return parseAsConfig(await readConfigFile(path, { defaultFormat: 'json' }), { ...options, where: path });
}
