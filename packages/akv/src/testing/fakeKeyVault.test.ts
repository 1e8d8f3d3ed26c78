/**
 * Invariant: the real @azure/keyvault-secrets SDK talks to the fake over HTTPS with challenge
 * authentication exactly as it would to Key Vault — versions, 404 SecretNotFound, soft delete,
 * purge, recover and paged listing — so tests built on the fake exercise the SDK's real code.
 */
import { isRestError, SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FakeKeyVault } from './fakeKeyVault.ts';

let vault: FakeKeyVault;
let client: SecretClient;

beforeAll(async () => {
  vault = await FakeKeyVault.start({ pageSize: 3 });
  client = new SecretClient(vault.url, vault.credential(), vault.clientOptions());
});
afterAll(async () => vault.close());

async function statusOf(promise: Promise<unknown>): Promise<{ status: number | undefined; code: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (isRestError(error)) return { status: error.statusCode, code: error.code };
    throw error;
  }
  return { status: 200, code: undefined };
}

describe('the SDK against the fake', () => {
  test('challenge first (no auth, 401), then Bearer; set and get round-trip with content type and tags', async () => {
    const set = await client.setSecret('first', 'value-1', { contentType: 'text/plain', tags: { a: 'b' } });
    expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(vault.requests[0]).toEqual({ method: 'PUT', path: '/secrets/first', authorized: false });
    expect(vault.requests[1]).toEqual({ method: 'PUT', path: '/secrets/first', authorized: true });
    expect(vault.tokenRequests).toBe(1);
    const got = await client.getSecret('first');
    expect(got.value).toBe('value-1');
    expect(got.properties.contentType).toBe('text/plain');
    expect(got.properties.tags).toEqual({ a: 'b' });
    expect(got.properties.enabled).toBe(true);
  });

  test('every PUT adds a version; latest and a pinned version are both readable; names are case-insensitive', async () => {
    const v1 = await client.setSecret('Versioned', 'one');
    await client.setSecret('versioned', 'two');
    expect((await client.getSecret('VERSIONED')).value).toBe('two');
    expect((await client.getSecret('versioned', { version: v1.properties.version ?? '' })).value).toBe('one');
    expect(vault.latest('versioned')).toMatchObject({ name: 'Versioned', value: 'two', versionCount: 2 });
  });

  test('a missing secret is 404 SecretNotFound', async () => {
    expect(await statusOf(client.getSecret('missing'))).toEqual({ status: 404, code: 'SecretNotFound' });
  });

  test('a disabled secret is 403 Forbidden', async () => {
    vault.putSecret('disabled', 'x', { enabled: false });
    expect(await statusOf(client.getSecret('disabled'))).toEqual({ status: 403, code: 'Forbidden' });
  });

  test('delete is soft: the name is blocked (409) until recovered or purged', async () => {
    await client.setSecret('doomed', 'x');
    const poller = await client.beginDeleteSecret('doomed', { intervalInMs: 10 });
    const deleted = await poller.pollUntilDone();
    expect(deleted.recoveryId).toBe(`${vault.url}/deletedsecrets/doomed`);
    expect(vault.isSoftDeleted('doomed')).toBe(true);
    expect(await statusOf(client.setSecret('doomed', 'y'))).toEqual({ status: 409, code: 'Conflict' });
    await (await client.beginRecoverDeletedSecret('doomed', { intervalInMs: 10 })).pollUntilDone();
    expect((await client.getSecret('doomed')).value).toBe('x');
    await (await client.beginDeleteSecret('doomed', { intervalInMs: 10 })).pollUntilDone();
    await client.purgeDeletedSecret('doomed');
    expect(vault.isSoftDeleted('doomed')).toBe(false);
    await client.setSecret('doomed', 'z');
    expect((await client.getSecret('doomed')).value).toBe('z');
    expect(await statusOf(client.beginDeleteSecret('never-existed'))).toEqual({ status: 404, code: 'SecretNotFound' });
  });

  test('listing pages through nextLink', async () => {
    for (const name of ['list-a', 'list-b', 'list-c', 'list-d', 'list-e']) await client.setSecret(name, name);
    const names: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets()) names.push(properties.name);
    expect(names).toEqual(vault.names());
    expect(names.filter((name) => name.startsWith('list-'))).toEqual(['list-a', 'list-b', 'list-c', 'list-d', 'list-e']);
    const pages = vault.requests.filter((request) => request.authorized && request.method === 'GET' && request.path === '/secrets').length;
    expect(pages).toBe(Math.ceil(names.length / 3));
  });

  test('a refused token surfaces as 401', async () => {
    const other = await FakeKeyVault.start();
    try {
      other.rejectTokens();
      const refused = new SecretClient(other.url, other.credential(), other.clientOptions());
      expect((await statusOf(refused.getSecret('x'))).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  test('without the trust policy the self-signed certificate is refused', async () => {
    const untrusting = new SecretClient(vault.url, vault.credential(), { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
    await expect(untrusting.getSecret('first')).rejects.toThrow(/certificate/i);
  });
});
