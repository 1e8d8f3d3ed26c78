/**
 * Loads upstream's `as-config.json` as is (as-rvps §6.1): the attestation core parses
 * `rvps_config`, `attestation_token_broker` and `verifier_config`; `storage_backend` goes to
 * @trustee/storage. No file means every default, like upstream: in-memory storage, built-in
 * RVPS, a signing key that lives as long as the process.
 */
import { readFile } from 'node:fs/promises';
import { parseAttestationServiceConfig, type AttestationServiceConfig } from '@trustee/attestation';
import { parseStorageBackendConfig, parseStorageType, type StorageBackendConfig, type StorageType } from '@trustee/storage';

export interface AsConfig {
  readonly attestation: AttestationServiceConfig;
  readonly storage: StorageBackendConfig;
  /** `rvps_config.storage_type` for the built-in RVPS (upstream's override). */
  readonly rvpsStorageType?: StorageType;
  /** Things an operator must hear about at startup. */
  readonly warnings: readonly string[];
}

export class AsConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AsConfigError';
  }
}

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
    }
  } catch (error) {
    throw new AsConfigError((error as Error).message, { cause: error });
  }
  const warnings: string[] = [];
  if (storage.storageType === 'Memory' || rvpsStorageType === 'Memory') {
    warnings.push(
      'WARNING: storage_backend is Memory (upstream default): policies, reference values, the token signing key and collateral caches are lost when this process exits. Set storage_backend.storage_type to Sqlite or LocalFs to persist them.',
    );
  }
  if (attestation.tokenBroker.signer === undefined && storage.storageType === 'Memory') {
    warnings.push('WARNING: no attestation_token_broker.signer: tokens are signed with a key generated for this process only; relying parties must refetch the JWKS after every restart.');
  }
  return { attestation, storage, ...(rvpsStorageType === undefined ? {} : { rvpsStorageType }), warnings };
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
