/**
 * The `[[plugins]] name = "resource", storage_backend_type = "AzureKeyVault"` table (alias
 * `akv`): parsed once at startup with path-precise messages, then turned into a store.
 *
 * ```toml
 * [[plugins]]
 * name = "resource"
 * storage_backend_type = "AzureKeyVault"
 * vault_url = "https://my-vault.vault.azure.net"
 * credential = "workload_identity"      # or "default", "managed_identity"
 * cache_ttl_seconds = 60
 * secret_name_prefix = "kbs-"
 * ```
 */
import type { TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { StorageError } from '@trustee/storage';
import { azureIdentity } from './azureSdk.ts';
import { AzureKeyVaultStore, type AkvLog } from './azureKeyVaultStore.ts';
import { assertValidSecretNamePrefix, secretNameForKey } from './secretName.ts';

export type AkvCredentialKind = 'workload_identity' | 'managed_identity' | 'default';

export interface AkvBackendConfig {
  readonly vaultUrl: string;
  readonly credential: AkvCredentialKind;
  readonly tenantId: string | undefined;
  readonly clientId: string | undefined;
  /** Federated token file for `workload_identity`; default AZURE_FEDERATED_TOKEN_FILE. */
  readonly tokenFilePath: string | undefined;
  readonly cacheTtlSeconds: number;
  readonly negativeCacheTtlSeconds: number;
  readonly staleIfErrorSeconds: number;
  readonly requestTimeoutSeconds: number;
  readonly secretNamePrefix: string;
  readonly purgeOnDelete: boolean;
  /** Resource path → secret version served instead of the latest. */
  readonly pinnedVersions: ReadonlyMap<string, string>;
  /** Skip the SDK's check that the challenge's resource matches the vault host (custom hostnames, test vaults). */
  readonly disableChallengeResourceVerification: boolean;
}

/** `storage_backend_type` values that select this backend. */
export const AKV_BACKEND_NAMES: readonly string[] = ['AzureKeyVault', 'akv'];

const CREDENTIALS: readonly AkvCredentialKind[] = ['workload_identity', 'managed_identity', 'default'];
const MAX_TTL_SECONDS = 24 * 60 * 60;
const VERSION_PATTERN = /^[0-9A-Za-z]{1,64}$/;

function fail(message: string): never {
  throw new StorageError('invalid_config', message);
}

function optionalString(table: Readonly<Record<string, unknown>>, key: string, path: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) fail(`${path}.${key}: expected a non-empty string`);
  return value;
}

function seconds(table: Readonly<Record<string, unknown>>, key: string, path: string): number | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TTL_SECONDS) {
    fail(`${path}.${key}: expected a number of seconds from 0 to ${MAX_TTL_SECONDS}`);
  }
  return value;
}

function vaultUrl(value: string | undefined, path: string): string {
  if (value === undefined) fail(`${path}.vault_url: required (e.g. "https://my-vault.vault.azure.net")`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${path}.vault_url: ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'https:') fail(`${path}.vault_url: Key Vault is only reachable over https://`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    fail(`${path}.vault_url: expected the vault's base URL without path, query or credentials (e.g. "https://my-vault.vault.azure.net")`);
  }
  return url.origin;
}

/**
 * Validates the plugin table (keys other than those below are ignored, like the rest of the
 * KBS config). Throws StorageError('invalid_config') naming the offending key.
 */
export function parseAkvBackendConfig(table: Readonly<Record<string, unknown>>, path: string): AkvBackendConfig {
  const url = vaultUrl(optionalString(table, 'vault_url', path), path);
  const credential = optionalString(table, 'credential', path) ?? 'default';
  if (!(CREDENTIALS as readonly string[]).includes(credential)) {
    fail(`${path}.credential: "${credential}" is not one of ${CREDENTIALS.map((kind) => `"${kind}"`).join(', ')}`);
  }
  const cacheTtlSeconds = seconds(table, 'cache_ttl_seconds', path) ?? 60;
  const negativeCacheTtlSeconds = seconds(table, 'negative_cache_ttl_seconds', path) ?? Math.min(5, cacheTtlSeconds);
  const staleIfErrorSeconds = seconds(table, 'stale_if_error_seconds', path) ?? 0;
  const requestTimeoutSeconds = seconds(table, 'request_timeout_seconds', path) ?? 10;
  if (requestTimeoutSeconds === 0) fail(`${path}.request_timeout_seconds: must be greater than 0`);
  const prefix = table['secret_name_prefix'] ?? '';
  if (typeof prefix !== 'string') fail(`${path}.secret_name_prefix: expected a string`);
  try {
    assertValidSecretNamePrefix(prefix);
  } catch (error) {
    fail(`${path}.${(error as Error).message}`);
  }
  const pinnedVersions = new Map<string, string>();
  const pins = table['pinned_versions'] ?? {};
  if (typeof pins !== 'object' || pins === null || Array.isArray(pins)) fail(`${path}.pinned_versions: expected a table of "repo/type/tag" = "<secret version>"`);
  for (const [key, version] of Object.entries(pins)) {
    if (typeof version !== 'string' || !VERSION_PATTERN.test(version)) fail(`${path}.pinned_versions."${key}": expected a Key Vault secret version (hex id)`);
    try {
      secretNameForKey(key, prefix);
    } catch (error) {
      fail(`${path}.pinned_versions."${key}": ${(error as Error).message}`);
    }
    pinnedVersions.set(key, version);
  }
  const purgeOnDelete = table['purge_on_delete'] ?? false;
  if (typeof purgeOnDelete !== 'boolean') fail(`${path}.purge_on_delete: expected true or false`);
  const disableChallengeResourceVerification = table['disable_challenge_resource_verification'] ?? false;
  if (typeof disableChallengeResourceVerification !== 'boolean') fail(`${path}.disable_challenge_resource_verification: expected true or false`);
  return {
    vaultUrl: url,
    credential: credential as AkvCredentialKind,
    tenantId: optionalString(table, 'tenant_id', path),
    clientId: optionalString(table, 'client_id', path),
    tokenFilePath: optionalString(table, 'token_file_path', path),
    cacheTtlSeconds,
    negativeCacheTtlSeconds,
    staleIfErrorSeconds,
    requestTimeoutSeconds,
    secretNamePrefix: prefix,
    purgeOnDelete,
    pinnedVersions,
    disableChallengeResourceVerification,
  };
}

/**
 * The identity the KBS presents to Key Vault. `workload_identity` reads AZURE_FEDERATED_TOKEN_FILE
 * (and AZURE_TENANT_ID / AZURE_CLIENT_ID unless configured), as injected by the AKS workload
 * identity webhook; `managed_identity` uses the VM's or pod's managed identity; `default` tries
 * the DefaultAzureCredential chain (environment, workload identity, managed identity, CLI...).
 */
export function createAkvCredential(config: AkvBackendConfig): TokenCredential {
  try {
    return credentialFor(config);
  } catch (error) {
    // The identity library refuses at construction when its environment is incomplete.
    throw new StorageError('invalid_config', `credential = "${config.credential}": ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
}

function credentialFor(config: AkvBackendConfig): TokenCredential {
  const { DefaultAzureCredential, ManagedIdentityCredential, WorkloadIdentityCredential } = azureIdentity();
  switch (config.credential) {
    case 'workload_identity':
      return new WorkloadIdentityCredential({
        ...(config.tenantId === undefined ? {} : { tenantId: config.tenantId }),
        ...(config.clientId === undefined ? {} : { clientId: config.clientId }),
        ...(config.tokenFilePath === undefined ? {} : { tokenFilePath: config.tokenFilePath }),
      });
    case 'managed_identity':
      return config.clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId: config.clientId });
    case 'default':
      return new DefaultAzureCredential({
        ...(config.tenantId === undefined ? {} : { tenantId: config.tenantId }),
        ...(config.clientId === undefined ? {} : { managedIdentityClientId: config.clientId, workloadIdentityClientId: config.clientId }),
      });
  }
}

/** Test-only replacements: a credential and SDK options (e.g. a policy trusting a local CA). */
export interface AkvOverrides {
  readonly credential?: TokenCredential;
  readonly clientOptions?: SecretClientOptions;
}

export interface OpenAkvStoreDeps {
  readonly now?: () => number;
  readonly log?: AkvLog;
  readonly overrides?: AkvOverrides;
}

/** The store for a parsed config. */
export function openAkvStore(config: AkvBackendConfig, deps: OpenAkvStoreDeps = {}): AzureKeyVaultStore {
  const overrides = deps.overrides ?? {};
  if (config.disableChallengeResourceVerification) {
    deps.log?.warn(`Key Vault ${config.vaultUrl}: disable_challenge_resource_verification = true, the vault host is not checked against the resource of its authentication challenge`);
  }
  const clientOptions = {
    ...(config.disableChallengeResourceVerification ? { disableChallengeResourceVerification: true } : {}),
    ...overrides.clientOptions,
  };
  return new AzureKeyVaultStore({
    vaultUrl: config.vaultUrl,
    credential: overrides.credential ?? createAkvCredential(config),
    secretNamePrefix: config.secretNamePrefix,
    cacheTtlMs: config.cacheTtlSeconds * 1000,
    negativeCacheTtlMs: config.negativeCacheTtlSeconds * 1000,
    staleIfErrorMs: config.staleIfErrorSeconds * 1000,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    purgeOnDelete: config.purgeOnDelete,
    pinnedVersions: config.pinnedVersions,
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.log === undefined ? {} : { log: deps.log }),
    clientOptions,
  });
}
