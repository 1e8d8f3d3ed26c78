/**
 * Invariant: with `storage_backend_type = "AzureKeyVault"` the resource plugin reads and
 * writes Key Vault secrets (here the HTTPS fake, through the real SDK): an attested guest gets
 * an operator-created secret, a change made in the vault reaches guests after the cache TTL
 * and not before, admin writes land in the vault as base64 secrets, and a vault failure is a
 * PluginInternalError.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { secretNameForKey } from '@trustee/akv';
import { FakeKeyVault } from '@trustee/akv/testing';
import { MemoryStore } from '@trustee/storage';
import { composeKbs, type ComposedKbs } from './compose.ts';
import { parseKbsConfig } from './config.ts';
import { ConfigError } from '@trustee/config';
import { DEV_ADMIN_ISSUER, devConfigToml, prepareDevEnvironment, type DevPaths } from './devSetup.ts';
import { ALLOW_ALL_RESOURCE_POLICY } from './resourcePolicy.ts';
import { ERR, errorOf, Guest, TEST_EAR_POLICY } from './testing/fixture.ts';

let vault: FakeKeyVault;
let kbs: ComposedKbs;
let paths: DevPaths;
let dir: string;
const clock = { now: Math.floor(Date.now() / 1000) * 1000 };

async function devRaw(plugin: Record<string, unknown>): Promise<Record<string, unknown>> {
  const raw = parseToml(devConfigToml(paths)) as Record<string, unknown>;
  raw['plugins'] = [{ name: 'resource', ...plugin }];
  return raw;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kbs-akv-'));
  paths = await prepareDevEnvironment(dir);
  vault = await FakeKeyVault.start();
  const config = parseKbsConfig(await devRaw({ storage_backend_type: 'AzureKeyVault', vault_url: vault.url, cache_ttl_seconds: 60 }));
  const store = new MemoryStore(() => clock.now);
  kbs = await composeKbs(config, { now: () => clock.now, store, akv: { credential: vault.credential(), clientOptions: vault.clientOptions() } });
  await kbs.apps[0]?.ready();
  await kbs.attestation?.setPolicy('default_cpu', TEST_EAR_POLICY);
  await store.set('kbs', 'resource-policy.rego', new TextEncoder().encode(ALLOW_ALL_RESOURCE_POLICY));
});

afterAll(async () => {
  await kbs.close();
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

function app(): NonNullable<ComposedKbs['apps'][0]> {
  const first = kbs.apps[0];
  if (first === undefined) throw new Error('no app');
  return first;
}

async function adminToken(): Promise<string> {
  const iat = Math.floor(clock.now / 1000);
  return new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(DEV_ADMIN_ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(createPrivateKey(readFileSync(paths.adminPrivateKey, 'utf8')));
}

describe('resource plugin on Azure Key Vault', () => {
  test('an attested guest gets default/akv/coco_one; a change in the vault is served after the TTL, not before', async () => {
    const name = secretNameForKey('default/akv/coco_one');
    vault.putSecret(name, 'coco-secret-v1');
    const guest = new Guest(app());
    await guest.rcar();

    const first = await guest.getResource('default/akv/coco_one');
    expect(first.statusCode).toBe(200);
    expect(guest.decrypt(first)).toBe('coco-secret-v1');

    vault.putSecret(name, 'coco-secret-v2');
    clock.now += 59_000;
    expect(guest.decrypt(await guest.getResource('default/akv/coco_one'))).toBe('coco-secret-v1');
    clock.now += 1000;
    expect(guest.decrypt(await guest.getResource('default/akv/coco_one'))).toBe('coco-secret-v2');
    expect(vault.count('GET', `/secrets/${name}/`)).toBe(2);
  });

  test('admin POST writes a base64 secret to the vault, DELETE soft-deletes it', async () => {
    const token = await adminToken();
    const posted = await app().inject({ method: 'POST', url: '/kbs/v0/resource/default/akv/Written_1', payload: Buffer.from([0, 1, 2, 255]), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } });
    expect(posted.statusCode).toBe(200);
    const name = secretNameForKey('default/akv/Written_1');
    expect(vault.latest(name)).toMatchObject({ value: 'AAEC/w==', contentType: 'application/octet-stream;base64', tags: { 'trustee-path': 'default/akv/Written_1' } });

    const guest = new Guest(app());
    await guest.rcar();
    const got = await guest.getResource('default/akv/Written_1');
    expect(got.statusCode).toBe(200);

    const deleted = await app().inject({ method: 'DELETE', url: '/kbs/v0/resource/default/akv/Written_1', headers: { authorization: `Bearer ${token}` } });
    expect(deleted.statusCode).toBe(200);
    expect(vault.isSoftDeleted(name)).toBe(true);
    const gone = await guest.getResource('default/akv/Written_1');
    expect(gone.statusCode).toBe(401);
    expect(errorOf(gone).type).toBe(`${ERR}PluginInternalError`);
  });

  test('a vault failure is PluginInternalError and the answer names no secret value', async () => {
    const guest = new Guest(app());
    await guest.rcar();
    vault.putSecret(secretNameForKey('default/akv/fails'), 'never-shown');
    vault.failNext(1, 403, 'Forbidden');
    const response = await guest.getResource('default/akv/fails');
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).type).toBe(`${ERR}PluginInternalError`);
    expect(response.body).not.toContain('never-shown');
  });
});

describe('config', () => {
  test('alias akv, defaults, and path-precise errors', async () => {
    const config = parseKbsConfig(await devRaw({ storage_backend_type: 'akv', vault_url: 'https://v.vault.azure.net', secret_name_prefix: 'kbs-' }));
    expect(config.plugins[0]).toMatchObject({ name: 'resource', backend: 'AzureKeyVault', akv: { vaultUrl: 'https://v.vault.azure.net', cacheTtlSeconds: 60, secretNamePrefix: 'kbs-', credential: 'default' } });
    expect(() => parseKbsConfig({})).toThrow(ConfigError);
    const missing = await devRaw({ storage_backend_type: 'AzureKeyVault' });
    expect(() => parseKbsConfig(missing)).toThrow('plugins[0].vault_url: required (e.g. "https://my-vault.vault.azure.net")');
    const badTtl = await devRaw({ storage_backend_type: 'AzureKeyVault', vault_url: 'https://v.vault.azure.net', cache_ttl_seconds: -5 });
    expect(() => parseKbsConfig(badTtl)).toThrow(/plugins\[0\]\.cache_ttl_seconds/);
  });
});
