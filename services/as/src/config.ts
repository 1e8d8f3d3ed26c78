/**
 * Loads upstream's `as-config.json` as is (as-rvps §6.1): the attestation core parses
 * `rvps_config`, `attestation_token_broker` and `verifier_config`; `storage_backend` goes to
 * @trustee/storage. No file means every default, like upstream: in-memory storage, built-in
 * RVPS, a signing key that lives as long as the process.
 */
import { readFile } from 'node:fs/promises';
import { parseAttestationServiceConfig, type AttestationServiceConfig } from '@trustee/attestation';
import { AuthConfigError, parseBearerJwtConfig, type IdentityProviderConfig } from '@trustee/auth';
import { assertBackendConfigured, parseStorageBackendConfig, parseStorageType, type StorageBackendConfig, type StorageType } from '@trustee/storage';
import { errorClassWithCode } from '@trustee/errors';

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

export class AsConfigError extends errorClassWithCode('invalid_config') {}

/**
 * Parses an already-read config value (`undefined` = no file).
 *
 * @throws AsConfigError with a path-precise message, e.g. `as-config.json.storage_backend.storage_type: ...`.
 */
export function parseAsConfig(raw: unknown, where = 'as-config.json'): AsConfig {
  let attestation: AttestationServiceConfig;
  let storage: StorageBackendConfig;
  let rvpsStorageType: StorageType | undefined;
  try {
    attestation = parseAttestationServiceConfig(raw, where);
    storage = parseStorageBackendConfig(attestation.storageBackend, `${where}.storage_backend`);
    if (attestation.rvps.type === 'BuiltIn' && attestation.rvps.storageType !== undefined) {
      rvpsStorageType = parseStorageType(attestation.rvps.storageType, `${where}.rvps_config.storage_type`);
      assertBackendConfigured(storage, rvpsStorageType, `${where}.storage_backend`);
    }
  } catch (error) {
    throw new AsConfigError((error as Error).message, { cause: error });
  }
  const admin = parseAdmin(raw, where);
  const warnings: string[] = [...adminWarnings(admin)];
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

const ADMIN_KEYS = ['bearer_jwt', 'protect_policies', 'protect_register'];

function parseAdmin(raw: unknown, where: string): AsAdminConfig | undefined {
  const section = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'admin') ? (raw as Record<string, unknown>)['admin'] : undefined;
  if (section === undefined) return undefined;
  const path = `${where}.admin`;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new AsConfigError(`${path}: expected an object`);
  const table = section as Record<string, unknown>;
  // Strict, unlike the rest of as-config.json: a typo here must not leave an API open.
  for (const key of Object.keys(table)) {
    if (!ADMIN_KEYS.includes(key)) throw new AsConfigError(`${path}.${key}: unknown key (expected ${ADMIN_KEYS.join(', ')})`);
  }
  const flag = (key: string): boolean => {
    const value = table[key] ?? false;
    if (typeof value !== 'boolean') throw new AsConfigError(`${path}.${key}: expected a boolean`);
    return value;
  };
  if (table['bearer_jwt'] === undefined) throw new AsConfigError(`${path}.bearer_jwt: required (identity_providers that sign admin tokens)`);
  try {
    return { identityProviders: parseBearerJwtConfig(table['bearer_jwt'], `${path}.bearer_jwt`), protectPolicies: flag('protect_policies'), protectRegister: flag('protect_register') };
  } catch (error) {
    if (error instanceof AuthConfigError) throw new AsConfigError(error.message, { cause: error });
    throw error;
  }
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

/** Reads and parses a config file (JSON). */
export async function loadAsConfig(path: string | undefined): Promise<AsConfig> {
  if (path === undefined) return parseAsConfig(undefined);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AsConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AsConfigError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseAsConfig(raw, path);
}
