/**
 * Invariant (user-needs theme 3): a KBS process whose resource plugin reads Azure Key Vault
 * releases secrets an operator put into the vault (portal-style plain text and KBS-written
 * bytes), serves admin uploads into the vault, and never needs a restart to see a new version.
 * The vault is @trustee/akv's HTTPS fake, reached through managed-identity environment variables.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kbsConfigToml } from './harness/configs.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';
import type { FakeKeyVault } from '@trustee/akv/testing';

describe.skipIf(!capabilities.kbs || !capabilities.kbsAkv)('KBS resource plugin on Azure Key Vault (fake vault over HTTPS)', () => {
  let dir: string;
  let vault: FakeKeyVault;
  let kbs: KbsProcess;
  let operator: IndependentOperator;

  beforeAll(async () => {
    const { FakeKeyVault: Fake } = await import('@trustee/akv/testing');
    dir = makeTempDir();
    vault = await Fake.start();
    const caFile = join(dir, 'vault-ca.pem');
    writeFileSync(caFile, vault.caPem);
    const admin = writeAdminKeys(dir);
    kbs = await startKbs(
      kbsConfigToml({
        adminPublicKeyPath: admin.publicKeyPath,
        storage: { kind: 'Memory' },
        tokenTrust: { kind: 'insecure-header-jwk' },
        resourcePlugin: {
          storage_backend_type: 'AzureKeyVault',
          vault_url: vault.url,
          credential: 'managed_identity',
          disable_challenge_resource_verification: true,
          cache_ttl_seconds: 0,
        },
      }),
      { dir, env: vault.processEnvironment(caFile) },
    );
    operator = new IndependentOperator(kbs.url, mintAdminToken(admin.privateKey));
    expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
  });

  afterAll(async () => {
    await kbs?.stop();
    await vault?.close();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('releases a secret the operator typed into the vault, and its next version without a restart', async () => {
    vault.putSecret('default--akv--portal', 'typed in the portal');
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await guest.rcar();
    expect(guest.decrypt(await guest.getResource('default/akv/portal')).plaintext.toString()).toBe('typed in the portal');
    vault.putSecret('default--akv--portal', 'rotated');
    expect(guest.decrypt(await guest.getResource('default/akv/portal')).plaintext.toString()).toBe('rotated');
  });

  it('stores admin uploads in the vault as bytes and releases them unchanged', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    const upload = await operator.setResource('default/akv/uploaded', bytes);
    expect(upload.status, describeResponse(upload)).toBe(200);
    expect(vault.latest('default--akv--uploaded')?.value).toBe(bytes.toString('base64'));
    const guest = new IndependentGuest(kbs.url, generateTeeKey('RSA'));
    await guest.rcar();
    expect(guest.decrypt(await guest.getResource('default/akv/uploaded')).plaintext.equals(bytes)).toBe(true);
  });

  it('answers a missing secret and a vault outage with PluginInternalError, never a 500', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await guest.rcar();
    expectErrorInformation(await guest.getResource('default/akv/absent'), 401, 'PluginInternalError');
    vault.failNext(20, 503, 'ServiceUnavailable');
    expectErrorInformation(await guest.getResource('default/akv/never-cached'), 401, 'PluginInternalError');
    expect(kbs.alive()).toBe(true);
  });
});
