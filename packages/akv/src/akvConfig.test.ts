/**
 * Invariant: the AzureKeyVault plugin table is validated at startup with messages naming the
 * offending key; defaults are cache_ttl_seconds = 60, credential = "default", no prefix, no
 * purge; the store built from it reaches the vault with the configured prefix.
 */
import { describe, expect, test } from 'vitest';
import { DefaultAzureCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { ConfigError } from '@trustee/config';
import { createAkvCredential, openAkvStore, parseAkvBackendConfig } from './akvConfig.ts';
import { FakeKeyVault } from './testing/fakeKeyVault.ts';

const AT = 'plugins[0]';

describe('parseAkvBackendConfig', () => {
  test('defaults', () => {
    expect(parseAkvBackendConfig({ vault_url: 'https://my-vault.vault.azure.net/' }, AT)).toEqual({
      vaultUrl: 'https://my-vault.vault.azure.net',
      credential: 'default',
      tenantId: undefined,
      clientId: undefined,
      tokenFilePath: undefined,
      cacheTtlSeconds: 60,
      negativeCacheTtlSeconds: 5,
      staleIfErrorSeconds: 0,
      requestTimeoutSeconds: 10,
      secretNamePrefix: '',
      purgeOnDelete: false,
      pinnedVersions: new Map(),
      disableChallengeResourceVerification: false,
    });
  });

  test('pinned_versions', () => {
    const config = parseAkvBackendConfig({ vault_url: 'https://v.vault.azure.net', pinned_versions: { 'default/akv/coco_one': '0123456789abcdef0123456789abcdef' } }, AT);
    expect([...config.pinnedVersions]).toEqual([['default/akv/coco_one', '0123456789abcdef0123456789abcdef']]);
  });

  test('every key', () => {
    const config = parseAkvBackendConfig(
      {
        name: 'resource',
        storage_backend_type: 'AzureKeyVault',
        vault_url: 'https://v.vault.azure.net',
        credential: 'workload_identity',
        tenant_id: 'tenant',
        client_id: 'client',
        cache_ttl_seconds: 2,
        negative_cache_ttl_seconds: 1,
        stale_if_error_seconds: 300,
        secret_name_prefix: 'kbs-',
        purge_on_delete: true,
      },
      AT,
    );
    expect(config).toMatchObject({ credential: 'workload_identity', tenantId: 'tenant', clientId: 'client', cacheTtlSeconds: 2, negativeCacheTtlSeconds: 1, staleIfErrorSeconds: 300, secretNamePrefix: 'kbs-', purgeOnDelete: true });
    expect(parseAkvBackendConfig({ vault_url: 'https://v.vault.azure.net', cache_ttl_seconds: 2 }, AT).negativeCacheTtlSeconds).toBe(2);
  });

  test.each([
    [{}, 'plugins[0].vault_url: required'],
    [{ vault_url: 'http://v.vault.azure.net' }, 'plugins[0].vault_url: Key Vault is only reachable over https://'],
    [{ vault_url: 'v.vault.azure.net' }, 'is not a URL'],
    [{ vault_url: 'https://v.vault.azure.net/secrets' }, 'without path'],
    [{ vault_url: 'https://user:pw@v.vault.azure.net' }, 'without path, query or credentials'],
    [{ vault_url: 42 }, 'plugins[0].vault_url: expected a string, found number 42'],
    [{ vault_url: 'https://v', credential: 'client_secret' }, 'plugins[0].credential: expected one of "workload_identity", "managed_identity", "default", found the string "client_secret"'],
    [{ vault_url: 'https://v', cache_ttl_seconds: -1 }, 'plugins[0].cache_ttl_seconds: must be at least 0'],
    [{ vault_url: 'https://v', cache_ttl_seconds: '60' }, 'plugins[0].cache_ttl_seconds'],
    [{ vault_url: 'https://v', stale_if_error_seconds: Number.POSITIVE_INFINITY }, 'plugins[0].stale_if_error_seconds'],
    [{ vault_url: 'https://v', secret_name_prefix: 'kbs_' }, 'plugins[0].secret_name_prefix: must be'],
    [{ vault_url: 'https://v', secret_name_prefix: 7 }, 'plugins[0].secret_name_prefix: expected a string'],
    [{ vault_url: 'https://v', request_timeout_seconds: 0 }, 'plugins[0].request_timeout_seconds: must be greater than 0'],
    [{ vault_url: 'https://v', purge_on_delete: 'yes' }, 'plugins[0].purge_on_delete: expected a boolean, found the string "yes"'],
    [{ vault_url: 'https://v', tenant_id: '' }, 'plugins[0].tenant_id: must not be empty'],
    [{ vault_url: 'https://v', disable_challenge_resource_verification: 1 }, 'plugins[0].disable_challenge_resource_verification: expected a boolean, found number 1'],
    [{ vault_url: 'https://v', pinned_versions: ['x'] }, 'plugins[0].pinned_versions: expected a table'],
    [{ vault_url: 'https://v', pinned_versions: { 'a/b/c': 'not/a/version' } }, 'plugins[0].pinned_versions."a/b/c": expected a Key Vault secret version'],
    [{ vault_url: 'https://v', pinned_versions: { 'a b': 'abc' } }, 'plugins[0].pinned_versions."a b": key must be'],
  ])('%j is refused: %s', (table, message) => {
    try {
      parseAkvBackendConfig(table, AT);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe('invalid_config');
      expect((error as Error).message).toContain(message);
    }
  });
});

describe('createAkvCredential', () => {
  test.each([
    ['workload_identity', WorkloadIdentityCredential],
    ['managed_identity', ManagedIdentityCredential],
    ['default', DefaultAzureCredential],
  ] as const)('%s → %s', (credential, type) => {
    const config = parseAkvBackendConfig({ vault_url: 'https://v.vault.azure.net', credential, tenant_id: 't', client_id: 'c', token_file_path: '/var/run/token' }, AT);
    // By name: the SDK is loaded lazily through its CommonJS build (src/azureSdk.ts), this test imports the ESM one.
    expect(createAkvCredential(config).constructor.name).toBe(type.name);
  });

  test.skipIf(process.env['AZURE_FEDERATED_TOKEN_FILE'] !== undefined)('workload_identity without a token file is a config error at startup', () => {
    const config = parseAkvBackendConfig({ vault_url: 'https://v.vault.azure.net', credential: 'workload_identity', tenant_id: 't', client_id: 'c' }, AT);
    expect(() => createAkvCredential(config)).toThrow(/^credential = "workload_identity": WorkloadIdentityCredential: is unavailable/);
  });
});

test('openAkvStore: the configured prefix and TTL reach the vault', async () => {
  const vault = await FakeKeyVault.start();
  try {
    const config = parseAkvBackendConfig({ vault_url: vault.url, secret_name_prefix: 'Kbs-', cache_ttl_seconds: 1 }, AT);
    const clock = { now: Date.now() };
    const store = openAkvStore(config, { now: () => clock.now, overrides: { credential: vault.credential(), clientOptions: vault.clientOptions() } });
    await store.set('repository', 'default/akv/coco_one', new TextEncoder().encode('v1'));
    expect(vault.names()).toContain('kbs-default--akv--coco-5fone');
    vault.putSecret('kbs-default--akv--coco-5fone', 'v2');
    clock.now += 999;
    expect(new TextDecoder().decode(await store.get('repository', 'default/akv/coco_one'))).toBe('v1');
    clock.now += 1;
    expect(new TextDecoder().decode(await store.get('repository', 'default/akv/coco_one'))).toBe('v2');
    await store.close();
  } finally {
    await vault.close();
  }
});
