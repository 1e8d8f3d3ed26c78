/**
 * Invariant: the Key Vault store, driving the real @azure/keyvault-secrets SDK against the
 * HTTPS fake, behaves as a KeyValueStore for resources: bytes round-trip, operator-made text
 * secrets read as UTF-8, reads are cached for exactly one TTL (changes made in the vault show
 * up after it, not before), concurrent misses share one request, our own writes and deletes
 * are visible at once, and failures become typed errors that never carry a secret value.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { WorkloadIdentityCredential } from '@azure/identity';
import { StorageError } from '@trustee/storage';
import { AzureKeyVaultStore, PATH_TAG, type AzureKeyVaultStoreOptions } from './azureKeyVaultStore.ts';
import { KeyVaultError } from './keyVaultError.ts';
import { secretNameForKey } from './secretName.ts';
import { BASE64_CONTENT_TYPE } from './secretValue.ts';
import { FakeKeyVault } from './testing/fakeKeyVault.ts';
import { RecordingLogger } from '@trustee/log/testing/recordingLogger.ts';

const NS = 'repository';
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const read = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value));

let vault: FakeKeyVault;
let clock: { now: number };
let recorder: RecordingLogger;
const stores: AzureKeyVaultStore[] = [];

function open(options: Partial<AzureKeyVaultStoreOptions> = {}): AzureKeyVaultStore {
  const store = new AzureKeyVaultStore({
    vaultUrl: vault.url,
    credential: vault.credential(),
    clientOptions: vault.clientOptions(),
    now: () => clock.now,
    pollIntervalMs: 5,
    log: recorder,
    ...options,
  });
  stores.push(store);
  return store;
}

/** GETs of one secret's latest version that reached the fake. */
function reads(key: string, prefix = ''): number {
  return vault.count('GET', `/secrets/${secretNameForKey(key, prefix)}/`);
}

async function failure(promise: Promise<unknown>): Promise<KeyVaultError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KeyVaultError);
    return error as KeyVaultError;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  vault = await FakeKeyVault.start({ pageSize: 4 });
});
afterAll(async () => vault.close());
beforeEach(() => {
  clock = { now: Math.floor(Date.now() / 1000) * 1000 };
  recorder = new RecordingLogger();
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

describe('values', () => {
  test('bytes round-trip as base64 with our content type and the path tag', async () => {
    const store = open();
    const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
    expect(await store.set(NS, 'default/bin/all_bytes', bytes)).toBe(true);
    const stored = vault.latest(secretNameForKey('default/bin/all_bytes'));
    expect(stored?.contentType).toBe(BASE64_CONTENT_TYPE);
    expect(stored?.tags).toEqual({ [PATH_TAG]: 'default/bin/all_bytes' });
    expect(Buffer.from(stored?.value ?? '', 'base64')).toEqual(Buffer.from(bytes));
    // A second store (another replica) reads it from the vault, not from a cache.
    expect(await open().get(NS, 'default/bin/all_bytes')).toEqual(bytes);
  });

  test.each([
    ['no content type', undefined],
    ['text/plain', 'text/plain'],
    ['a certificate-ish type', 'application/x-pem-file'],
  ])('operator-created secret with %s reads as its UTF-8 bytes', async (_label, contentType) => {
    const value = `pässword-${contentType ?? 'none'}\n`;
    vault.putSecret(secretNameForKey(`default/op/${contentType === undefined ? 'none' : contentType.replace(/[^a-z]/g, '')}`), value, contentType === undefined ? {} : { contentType });
    const key = `default/op/${contentType === undefined ? 'none' : contentType.replace(/[^a-z]/g, '')}`;
    expect(read(await open().get(NS, key))).toBe(value);
  });

  test('a secret claiming our content type with a non-base64 value is a typed error without the value', async () => {
    vault.putSecret(secretNameForKey('default/bad/b64'), 'not base64 at all!', { contentType: BASE64_CONTENT_TYPE });
    const error = await open().get(NS, 'default/bad/b64').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('backend_failure');
    expect((error as Error).message).not.toContain('not base64 at all');
  });

  test('disabled secrets, secrets not yet valid and expired secrets read as absent', async () => {
    const store = open({ cacheTtlMs: 0 });
    vault.putSecret(secretNameForKey('default/state/disabled'), 'x', { enabled: false });
    vault.putSecret(secretNameForKey('default/state/later'), 'x', { notBefore: new Date(clock.now + 3600_000) });
    vault.putSecret(secretNameForKey('default/state/expired'), 'x', { expiresOn: new Date(clock.now - 1000) });
    vault.putSecret(secretNameForKey('default/state/valid'), 'x', { notBefore: new Date(clock.now - 1000), expiresOn: new Date(clock.now + 3600_000) });
    expect(await store.get(NS, 'default/state/disabled')).toBeUndefined();
    expect(await store.get(NS, 'default/state/later')).toBeUndefined();
    expect(await store.get(NS, 'default/state/expired')).toBeUndefined();
    expect(read(await store.get(NS, 'default/state/valid'))).toBe('x');
  });

  test('expiresAtMs becomes the secret expiry; the value is absent from then on even when cached', async () => {
    const store = open();
    await store.set(NS, 'default/exp/soon', text('v'), { expiresAtMs: clock.now + 10_000 });
    expect(read(await store.get(NS, 'default/exp/soon'))).toBe('v');
    clock.now += 10_000;
    expect(await store.get(NS, 'default/exp/soon')).toBeUndefined();
  });

  test('overwrite: false leaves an existing secret alone', async () => {
    const store = open();
    expect(await store.set(NS, 'default/once/x', text('first'), { overwrite: false })).toBe(true);
    expect(await store.set(NS, 'default/once/x', text('second'), { overwrite: false })).toBe(false);
    expect(read(await open().get(NS, 'default/once/x'))).toBe('first');
    expect(vault.latest(secretNameForKey('default/once/x'))?.versionCount).toBe(1);
  });
});

describe('cache', () => {
  test('a secret changed in the vault is served after the TTL, not before, without restart', async () => {
    const store = open({ cacheTtlMs: 60_000 });
    const name = secretNameForKey('default/akv/rotating');
    vault.putSecret(name, 'v1');
    expect(read(await store.get(NS, 'default/akv/rotating'))).toBe('v1');
    vault.putSecret(name, 'v2');
    clock.now += 59_999;
    expect(read(await store.get(NS, 'default/akv/rotating'))).toBe('v1');
    expect(reads('default/akv/rotating')).toBe(1);
    clock.now += 1;
    expect(read(await store.get(NS, 'default/akv/rotating'))).toBe('v2');
    expect(reads('default/akv/rotating')).toBe(2);
  });

  test('absence is cached for the shorter negative TTL', async () => {
    const store = open({ cacheTtlMs: 60_000, negativeCacheTtlMs: 5000 });
    expect(await store.get(NS, 'default/akv/late')).toBeUndefined();
    vault.putSecret(secretNameForKey('default/akv/late'), 'arrived');
    clock.now += 4999;
    expect(await store.get(NS, 'default/akv/late')).toBeUndefined();
    clock.now += 1;
    expect(read(await store.get(NS, 'default/akv/late'))).toBe('arrived');
    expect(reads('default/akv/late')).toBe(2);
  });

  test('single flight: 25 concurrent cold reads cost one request', async () => {
    const store = open();
    vault.putSecret(secretNameForKey('default/akv/popular'), 'hot');
    const values = await Promise.all(Array.from({ length: 25 }, () => store.get(NS, 'default/akv/popular')));
    expect(values.map(read)).toEqual(Array.from({ length: 25 }, () => 'hot'));
    expect(reads('default/akv/popular')).toBe(1);
  });

  test('our own write and delete are visible at once, without a request', async () => {
    const store = open();
    await store.set(NS, 'default/akv/mine', text('a'));
    expect(read(await store.get(NS, 'default/akv/mine'))).toBe('a');
    await store.set(NS, 'default/akv/mine', text('b'));
    expect(read(await store.get(NS, 'default/akv/mine'))).toBe('b');
    expect(await store.delete(NS, 'default/akv/mine')).toBe(true);
    expect(await store.get(NS, 'default/akv/mine')).toBeUndefined();
    expect(reads('default/akv/mine')).toBe(0);
  });

  test('a write during an in-flight read wins over the read result', async () => {
    const store = open();
    vault.putSecret(secretNameForKey('default/akv/race'), 'old');
    const pending = store.get(NS, 'default/akv/race');
    await store.set(NS, 'default/akv/race', text('new'));
    await pending;
    expect(read(await store.get(NS, 'default/akv/race'))).toBe('new');
  });

  test('values handed out are copies: mutating one does not change the cache', async () => {
    const store = open();
    await store.set(NS, 'default/akv/copy', text('abc'));
    const first = await store.get(NS, 'default/akv/copy');
    first?.fill(0);
    expect(read(await store.get(NS, 'default/akv/copy'))).toBe('abc');
  });

  test('stale-if-error serves the last value within the window, then fails', async () => {
    const store = open({ cacheTtlMs: 10_000, staleIfErrorMs: 30_000 });
    vault.putSecret(secretNameForKey('default/akv/stale'), 'kept');
    expect(read(await store.get(NS, 'default/akv/stale'))).toBe('kept');
    clock.now += 10_000;
    vault.failNext(1, 503, 'ServiceUnavailable');
    expect(read(await store.get(NS, 'default/akv/stale'))).toBe('kept');
    expect(recorder.messages('warn').join('\n')).toMatch(/past its TTL: .*503/);
    expect(recorder.messages('warn').join('\n')).not.toContain('kept');
    clock.now += 30_000;
    vault.failNext(1, 503, 'ServiceUnavailable');
    expect((await failure(store.get(NS, 'default/akv/stale'))).status).toBe(503);
  });

  test('without stale-if-error a failed refresh is an error', async () => {
    const store = open({ cacheTtlMs: 10_000 });
    vault.putSecret(secretNameForKey('default/akv/strict'), 'v');
    await store.get(NS, 'default/akv/strict');
    clock.now += 10_000;
    vault.failNext(1, 500, 'InternalServerError');
    expect((await failure(store.get(NS, 'default/akv/strict'))).status).toBe(500);
  });
});

describe('pinned versions', () => {
  test('a pinned key serves its version, not later edits, and refuses writes and deletes', async () => {
    const name = secretNameForKey('default/pin/x');
    const pinned = vault.putSecret(name, 'pinned-v1');
    vault.putSecret(name, 'latest-v2');
    const store = open({ cacheTtlMs: 0, pinnedVersions: new Map([['default/pin/x', pinned]]) });
    expect(read(await store.get(NS, 'default/pin/x'))).toBe('pinned-v1');
    expect(read(await open().get(NS, 'default/pin/x'))).toBe('latest-v2');
    await expect(store.set(NS, 'default/pin/x', text('v3'))).rejects.toMatchObject({ code: 'invalid_key' });
    await expect(store.delete(NS, 'default/pin/x')).rejects.toMatchObject({ code: 'invalid_key' });
    expect(vault.latest(name)?.versionCount).toBe(2);
  });

  test('a pin to a version that does not exist reads as absent', async () => {
    vault.putSecret(secretNameForKey('default/pin/y'), 'v');
    const store = open({ pinnedVersions: new Map([['default/pin/y', 'ffffffffffffffffffffffffffffffff']]) });
    expect(await store.get(NS, 'default/pin/y')).toBeUndefined();
  });
});

describe('delete', () => {
  test('soft delete; deleting again is false; writing the name again recovers and adds a version', async () => {
    const store = open();
    await store.set(NS, 'default/del/x', text('one'));
    expect(await store.delete(NS, 'default/del/x')).toBe(true);
    const name = secretNameForKey('default/del/x');
    expect(vault.isSoftDeleted(name)).toBe(true);
    expect(await open().get(NS, 'default/del/x')).toBeUndefined();
    expect(await store.delete(NS, 'default/del/x')).toBe(false);
    await store.set(NS, 'default/del/x', text('two'));
    expect(vault.isSoftDeleted(name)).toBe(false);
    expect(vault.latest(name)).toMatchObject({ versionCount: 2 });
    expect(read(await open().get(NS, 'default/del/x'))).toBe('two');
    expect(recorder.messages('warn').join('\n')).toMatch(/soft-deleted; recovering/);
  });

  test('purge_on_delete frees the name at once', async () => {
    const store = open({ purgeOnDelete: true });
    await store.set(NS, 'default/purge/x', text('one'));
    expect(await store.delete(NS, 'default/purge/x')).toBe(true);
    const name = secretNameForKey('default/purge/x');
    expect(vault.isSoftDeleted(name)).toBe(false);
    await store.set(NS, 'default/purge/x', text('two'));
    expect(vault.latest(name)).toMatchObject({ versionCount: 1 });
  });
});

describe('list', () => {
  test('lists decodable names under the prefix, skips foreign and disabled secrets, pages through', async () => {
    const store = open({ secretNamePrefix: 'lst-' });
    for (const key of ['a/b/c', 'a/b/D_1', 'a/x/y.z', 'b/b/b']) await store.set(NS, key, text(key));
    vault.putSecret(secretNameForKey('a/op/made', 'lst-'), 'operator');
    vault.putSecret(secretNameForKey('a/op/off', 'lst-'), 'operator', { enabled: false });
    vault.putSecret('lst-not-61-canonical', 'foreign');
    vault.putSecret('unrelated-secret', 'foreign');
    expect(await store.list(NS)).toEqual(['a/b/D_1', 'a/b/c', 'a/op/made', 'a/x/y.z', 'b/b/b']);
    expect(await store.list(NS, 'a/b/')).toEqual(['a/b/D_1', 'a/b/c']);
    expect(await store.list('kbs')).toEqual([]);
  });
});

describe('errors', () => {
  test('namespace other than repository and over-long keys are refused before any request', async () => {
    const store = open();
    const before = vault.requests.length;
    await expect(store.get('kbs', 'resource-policy.rego')).rejects.toMatchObject({ code: 'invalid_namespace' });
    await expect(store.set(NS, `r/t/${'x'.repeat(130)}`, text('v'))).rejects.toMatchObject({ code: 'invalid_key' });
    expect(vault.requests.length).toBe(before);
  });

  test('a refused token is a typed 401 error with an RBAC hint and no secret value', async () => {
    const other = await FakeKeyVault.start();
    try {
      const store = new AzureKeyVaultStore({ vaultUrl: other.url, credential: other.credential(), clientOptions: other.clientOptions() });
      stores.push(store);
      other.rejectTokens();
      const error = await failure(store.set(NS, 'default/auth/x', text('top-secret-value')));
      expect(error.code).toBe('backend_failure');
      expect(error.status).toBe(401);
      expect(error.message).toMatch(/Key Vault Secrets User/);
      expect(error.message).not.toContain('top-secret-value');
      expect(error.cause).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  test('a credential that cannot get a token (workload identity without its environment) is a typed error', async () => {
    const credential = new WorkloadIdentityCredential({ tenantId: '00000000-0000-0000-0000-000000000000', clientId: '00000000-0000-0000-0000-000000000001', tokenFilePath: '/nonexistent/token' });
    const store = open({ credential });
    const error = await failure(store.get(NS, 'default/auth/y'));
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/Key Vault get of secret default--auth--y failed/);
  });

  test('an unreachable vault is a typed network error', async () => {
    const other = await FakeKeyVault.start();
    const url = other.url;
    const options = other.clientOptions();
    await other.close();
    const store = new AzureKeyVaultStore({ vaultUrl: url, credential: vault.credential(), clientOptions: options });
    stores.push(store);
    const error = await failure(store.get(NS, 'default/net/x'));
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/network error|ECONNREFUSED/);
  });

  test('server errors on write and delete are typed; a failed delete forgets the cached value', async () => {
    const store = open();
    vault.failNext(1, 500, 'InternalServerError');
    expect((await failure(store.set(NS, 'default/err/x', text('v')))).status).toBe(500);
    await store.set(NS, 'default/err/x', text('v'));
    vault.failNext(1, 429, 'Throttled');
    expect((await failure(store.delete(NS, 'default/err/x'))).status).toBe(429);
    expect(read(await store.get(NS, 'default/err/x'))).toBe('v');
    expect(reads('default/err/x')).toBe(1);
  });

  test('a hung request ends at the deadline as a typed error shared by every waiter', async () => {
    const store = open({ requestTimeoutMs: 200 });
    vault.putSecret(secretNameForKey('default/slow/x'), 'late');
    vault.delayNext(1, 2000);
    const waiters = await Promise.allSettled([store.get(NS, 'default/slow/x'), store.get(NS, 'default/slow/x')]);
    for (const waiter of waiters) {
      expect(waiter.status).toBe('rejected');
      const reason = (waiter as PromiseRejectedResult).reason as KeyVaultError;
      expect(reason).toBeInstanceOf(KeyVaultError);
      expect(reason.message).toMatch(/Key Vault get of secret default--slow--x failed: .*abort/i);
    }
    expect(read(await store.get(NS, 'default/slow/x'))).toBe('late');
  });

  test('a closed store refuses work', async () => {
    const store = open();
    await store.close();
    await expect(store.get(NS, 'a/b/c')).rejects.toMatchObject({ code: 'closed' });
  });
});
