/**
 * A KeyValueStore whose values live in Azure Key Vault secrets, for the KBS `repository`
 * namespace (resources `repo/type/tag`). Reads go through a TTL cache with single flight so a
 * burst of guests costs one Key Vault request per secret per TTL, and a secret changed in the
 * vault is served after at most one TTL without restarting the KBS.
 */
import type { KeyVaultSecret, SecretClient, SecretClientOptions } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import { REPOSITORY_NAMESPACE, StorageError, type KeyValueStore, type SetOptions } from '@trustee/storage';
import { keyVaultSecrets } from './azureSdk.ts';
import { classify, keyVaultError } from './keyVaultError.ts';
import { ReadThroughCache, type Fetched } from './readThroughCache.ts';
import { assertValidSecretNamePrefix, keyForSecretName, secretNameForKey } from './secretName.ts';
import { decodeSecretValue, encodeSecretValue } from './secretValue.ts';
import type { Logger } from '@trustee/log';

/** Tag holding the storage key on secrets the KBS writes, for people browsing the vault. */
export const PATH_TAG = 'trustee-path';

export interface AzureKeyVaultStoreOptions {
  /** `https://<vault>.vault.azure.net` */
  readonly vaultUrl: string;
  readonly credential: TokenCredential;
  /** Prepended to every secret name, e.g. `kbs-` when the vault is shared. Default none. */
  readonly secretNamePrefix?: string;
  /** Default 60 000. */
  readonly cacheTtlMs?: number;
  /** Default min(5 000, cacheTtlMs). */
  readonly negativeCacheTtlMs?: number;
  /** Serve a value up to this long past its TTL when Key Vault cannot be reached. Default 0. */
  readonly staleIfErrorMs?: number;
  /** Purge after the (soft) delete, so the name is free at once. Needs the purge permission. Default false. */
  readonly purgeOnDelete?: boolean;
  /** The only namespace this store holds. Default `repository`. */
  readonly namespace?: string;
  /**
   * Keys served from one fixed secret version instead of the latest (a rollout that must not
   * follow edits in the vault). Writes and deletes of these keys are refused.
   */
  readonly pinnedVersions?: ReadonlyMap<string, string>;
  /**
   * Deadline of one store operation against Key Vault, SDK retries included, ms. Default
   * 10 000: a hung request must not hold every guest waiting on the same single flight.
   */
  readonly requestTimeoutMs?: number;
  /** Interval of the delete/recover pollers. Default 1 000. */
  readonly pollIntervalMs?: number;
  readonly now?: () => number;
  readonly log?: Logger;
  /** SDK client options (pipeline policies, retries); tests use them to reach a local fake. */
  readonly clientOptions?: SecretClientOptions;
}

export class AzureKeyVaultStore implements KeyValueStore {
  readonly #client: SecretClient;
  readonly #prefix: string;
  readonly #namespace: string;
  readonly #purgeOnDelete: boolean;
  /** Secret name → pinned version. */
  readonly #pinned = new Map<string, string>();
  readonly #pollIntervalMs: number;
  readonly #requestTimeoutMs: number;
  readonly #now: () => number;
  readonly #log: Logger | undefined;
  readonly #cache: ReadThroughCache<Uint8Array>;
  #closed = false;

  constructor(options: AzureKeyVaultStoreOptions) {
    this.#prefix = options.secretNamePrefix ?? '';
    assertValidSecretNamePrefix(this.#prefix);
    this.#namespace = options.namespace ?? REPOSITORY_NAMESPACE;
    this.#purgeOnDelete = options.purgeOnDelete ?? false;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
    const ttlMs = options.cacheTtlMs ?? 60_000;
    this.#cache = new ReadThroughCache<Uint8Array>(
      { ttlMs, negativeTtlMs: Math.min(options.negativeCacheTtlMs ?? 5000, ttlMs), staleIfErrorMs: options.staleIfErrorMs ?? 0 },
      this.#now,
      { onStaleServed: (name, error) => this.#log?.warn(`serving cached Key Vault secret ${name} past its TTL: ${(error as Error).message}`) },
    );
    for (const [key, version] of options.pinnedVersions ?? []) this.#pinned.set(secretNameForKey(key, this.#prefix), version);
    const { SecretClient: Client } = keyVaultSecrets();
    this.#client = new Client(options.vaultUrl, options.credential, options.clientOptions ?? {});
  }

  #name(namespace: string, key: string): string {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    if (namespace !== this.#namespace) {
      throw new StorageError('invalid_namespace', `the Azure Key Vault store holds only namespace ${this.#namespace}, not ${namespace}`);
    }
    return secretNameForKey(key, this.#prefix);
  }

  #deadline(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.#requestTimeoutMs) };
  }

  #assertNotPinned(name: string, key: string): void {
    if (this.#pinned.has(name)) throw new StorageError('invalid_key', `${key} is pinned to one Key Vault secret version by configuration; change it in the vault and move the pin`);
  }

  /** Reads the latest (or pinned) version straight from Key Vault (no cache). */
  async #fetch(name: string): Promise<Fetched<Uint8Array>> {
    let secret: KeyVaultSecret;
    try {
      const version = this.#pinned.get(name);
      secret = await this.#client.getSecret(name, { ...this.#deadline(), ...(version === undefined ? {} : { version }) });
    } catch (error) {
      const { status, innerCode } = classify(error);
      if (status === 404) return { value: undefined };
      // A disabled secret answers 403 Forbidden/SecretDisabled: for the KBS it is not there.
      if (status === 403 && innerCode === 'SecretDisabled') return { value: undefined };
      throw keyVaultError('get', name, error);
    }
    const { enabled, notBefore, expiresOn } = secret.properties;
    const now = this.#now();
    if (enabled === false || secret.value === undefined) return { value: undefined };
    // Key Vault returns secrets outside their validity window; the operator's dates decide here.
    if (notBefore !== undefined && notBefore.getTime() > now) return { value: undefined, notAfterMs: notBefore.getTime() };
    if (expiresOn !== undefined && expiresOn.getTime() <= now) return { value: undefined };
    return {
      value: decodeSecretValue(secret.value, secret.properties.contentType, name),
      ...(expiresOn === undefined ? {} : { notAfterMs: expiresOn.getTime() }),
    };
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    const name = this.#name(namespace, key);
    const value = await this.#cache.get(name, () => this.#fetch(name));
    return value === undefined ? undefined : Uint8Array.from(value);
  }

  async set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    const name = this.#name(namespace, key);
    this.#assertNotPinned(name, key);
    // Key Vault has no conditional PUT: "only if absent" is a read then a write (not atomic
    // across replicas; upstream uses it only to install defaults).
    if (options.overwrite === false && (await this.#fetch(name)).value !== undefined) return false;
    const encoded = encodeSecretValue(value);
    const setOptions = {
      ...this.#deadline(),
      contentType: encoded.contentType,
      tags: { [PATH_TAG]: key },
      ...(options.expiresAtMs === undefined ? {} : { expiresOn: new Date(options.expiresAtMs) }),
    };
    try {
      await this.#client.setSecret(name, encoded.value, setOptions);
    } catch (error) {
      const { status, innerCode } = classify(error);
      if (status !== 409 || innerCode !== 'ObjectIsDeletedButRecoverable') throw keyVaultError('set', name, error);
      // The name is held by a soft-deleted secret (ours, deleted earlier): recover it, then
      // write the new value as its latest version.
      await this.#recover(name);
      try {
        await this.#client.setSecret(name, encoded.value, { ...setOptions, ...this.#deadline() });
      } catch (retryError) {
        throw keyVaultError('set', name, retryError);
      }
    }
    this.#cache.put(name, { value: Uint8Array.from(value), ...(options.expiresAtMs === undefined ? {} : { notAfterMs: options.expiresAtMs }) });
    return true;
  }

  async #recover(name: string): Promise<void> {
    this.#log?.warn(`Key Vault secret ${name} was soft-deleted; recovering it to write a new version`);
    try {
      const poller = await this.#client.beginRecoverDeletedSecret(name, { intervalInMs: this.#pollIntervalMs, ...this.#deadline() });
      await poller.pollUntilDone();
    } catch (error) {
      throw keyVaultError('recover', name, error);
    }
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const name = this.#name(namespace, key);
    this.#assertNotPinned(name, key);
    let existed = true;
    try {
      const deadline = this.#deadline();
      const poller = await this.#client.beginDeleteSecret(name, { intervalInMs: this.#pollIntervalMs, ...deadline });
      if (this.#purgeOnDelete) {
        await poller.pollUntilDone(deadline);
        await this.#client.purgeDeletedSecret(name, deadline);
      }
    } catch (error) {
      if (classify(error).status !== 404) {
        this.#cache.invalidate(name);
        throw keyVaultError('delete', name, error);
      }
      existed = false;
    }
    this.#cache.put(name, { value: undefined });
    return existed;
  }

  async list(namespace: string, prefix = ''): Promise<string[]> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    if (namespace !== this.#namespace) return [];
    const keys: string[] = [];
    try {
      for await (const properties of this.#client.listPropertiesOfSecrets(this.#deadline())) {
        if (properties.enabled === false) continue;
        const key = keyForSecretName(properties.name, this.#prefix);
        if (key !== undefined && key.startsWith(prefix)) keys.push(key);
      }
    } catch (error) {
      throw keyVaultError('list', '*', error);
    }
    return keys.sort();
  }

  /** Lists one secret's properties: reaches the vault and proves the credential may list. */
  async ping(): Promise<void> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    try {
      await this.#client.listPropertiesOfSecrets(this.#deadline()).byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      throw keyVaultError('list', '(ping)', error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cache.clear();
  }
}
