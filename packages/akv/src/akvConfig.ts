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
import { fail, validateConfig } from '@trustee/config';
import { StorageError } from '@trustee/storage';
import { z } from 'zod';
import { azureIdentity } from './azureSdk.ts';
import { AzureKeyVaultStore } from './azureKeyVaultStore.ts';
import { assertValidSecretNamePrefix, secretNameForKey } from './secretName.ts';
import type { Logger } from '@trustee/log';

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

const CREDENTIALS = ['workload_identity', 'managed_identity', 'default'] as const;
const MAX_TTL_SECONDS = 24 * 60 * 60;
const VERSION_PATTERN = /^[0-9A-Za-z]{1,64}$/;

const nonEmpty = z.string().min(1);
const seconds = z.number().min(0).max(MAX_TTL_SECONDS);

/**
 * The plugin table's Key Vault keys, for the KBS's `[[plugins]]` schema to spread beside
 * `name` and `storage_backend_type`; `akvBackendFromTable` turns them into the config.
 */
export const akvBackendShape = {
  vault_url: nonEmpty,
  credential: z.enum(CREDENTIALS).optional(),
  tenant_id: nonEmpty.optional(),
  client_id: nonEmpty.optional(),
  token_file_path: nonEmpty.optional(),
  cache_ttl_seconds: seconds.optional(),
  negative_cache_ttl_seconds: seconds.optional(),
  stale_if_error_seconds: seconds.optional(),
  request_timeout_seconds: seconds.positive().optional(),
  secret_name_prefix: z.string().optional(),
  pinned_versions: z.record(z.string(), z.string().regex(VERSION_PATTERN, 'expected a Key Vault secret version (hex id)')).optional(),
  purge_on_delete: z.boolean().optional(),
  disable_challenge_resource_verification: z.boolean().optional(),
};

const akvTable = z.object(akvBackendShape);

function vaultUrl(value: string, ctx: z.RefinementCtx): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(ctx, ['vault_url'], `${JSON.stringify(value)} is not a URL`);
    return value;
  }
  if (url.protocol !== 'https:') fail(ctx, ['vault_url'], 'Key Vault is only reachable over https://');
  else if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    fail(ctx, ['vault_url'], 'expected the vault\'s base URL without path, query or credentials (e.g. "https://my-vault.vault.azure.net")');
  }
  return url.origin;
}

/** The validated Key Vault keys → the backend config; problems go to `ctx` with their key. */
export function akvBackendFromTable(table: z.output<typeof akvTable>, ctx: z.RefinementCtx): AkvBackendConfig {
  const url = vaultUrl(table.vault_url, ctx);
  const cacheTtlSeconds = table.cache_ttl_seconds ?? 60;
  const prefix = table.secret_name_prefix ?? '';
  try {
    assertValidSecretNamePrefix(prefix);
  } catch (error) {
    fail(ctx, ['secret_name_prefix'], (error as Error).message.replace(/^secret_name_prefix /, ''));
  }
  const pinnedVersions = new Map<string, string>();
  for (const [key, version] of Object.entries(table.pinned_versions ?? {})) {
    try {
      secretNameForKey(key, prefix);
      pinnedVersions.set(key, version);
    } catch (error) {
      fail(ctx, ['pinned_versions', key], (error as Error).message);
    }
  }
  return {
    vaultUrl: url,
    credential: table.credential ?? 'default',
    tenantId: table.tenant_id,
    clientId: table.client_id,
    tokenFilePath: table.token_file_path,
    cacheTtlSeconds,
    negativeCacheTtlSeconds: table.negative_cache_ttl_seconds ?? Math.min(5, cacheTtlSeconds),
    staleIfErrorSeconds: table.stale_if_error_seconds ?? 0,
    requestTimeoutSeconds: table.request_timeout_seconds ?? 10,
    secretNamePrefix: prefix,
    purgeOnDelete: table.purge_on_delete ?? false,
    pinnedVersions,
    disableChallengeResourceVerification: table.disable_challenge_resource_verification ?? false,
  };
}

/**
 * Validates the Key Vault keys of a plugin table held apart from its file (other keys of the
 * table are the KBS's). Throws ConfigError naming the offending key.
 */
export function parseAkvBackendConfig(table: Readonly<Record<string, unknown>>, path: string): AkvBackendConfig {
  return validateConfig(akvTable.transform(akvBackendFromTable), table, { at: path }).value;
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
  readonly log?: Logger;
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
