/**
 * Invariant (passport mode, upstream trustee's `passport-resource-kbs` build): a guest attests at
 * an issuing KBS and presents the token to a different, resource-only KBS that trusts the issuer's
 * token-signer CA through `trusted_certs_paths`; that KBS releases the secret to the key bound in
 * the token and refuses tokens from an issuer whose chain it does not trust.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli } from './harness/cli.ts';
import { certChainTrust, kbsConfigToml } from './harness/configs.ts';
import { expectErrorInformation } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain, type SignerChain } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey, teeKeyPem } from './independent/teeKey.ts';

describe.skipIf(!capabilities.kbs || !capabilities.cli)('passport mode across two KBS processes', () => {
  let dir: string;
  let issuer: KbsProcess;
  let resourceKbs: KbsProcess;
  let foreignIssuer: KbsProcess;

  beforeAll(async () => {
    dir = makeTempDir();
    const admin = writeAdminKeys(dir);
    const trusted = await writeSignerChain(dir, 'issuer');
    const foreign = await writeSignerChain(dir, 'foreign');
    const resourceSigner = await writeSignerChain(dir, 'resource');
    const config = (signer: SignerChain, trustedCa: string) =>
      kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'Memory' }, tokenTrust: { ...certChainTrust(signer), caCertPath: trustedCa } });
    [issuer, foreignIssuer, resourceKbs] = await Promise.all([
      startKbs(config(trusted, trusted.caCertPath), { dir, configName: 'issuer.toml' }),
      startKbs(config(foreign, foreign.caCertPath), { dir, configName: 'foreign.toml' }),
      // The resource KBS signs its own tokens with another chain but trusts the issuer's CA.
      startKbs(config(resourceSigner, trusted.caCertPath), { dir, configName: 'resource.toml' }),
    ]);
    const operator = new IndependentOperator(resourceKbs.url, mintAdminToken(admin.privateKey));
    expect((await operator.setResource('default/key/passport', Buffer.from('passport secret'))).status).toBe(200);
    expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all([issuer?.stop(), foreignIssuer?.stop(), resourceKbs?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('CLI: attest at the issuer, get-resource at the resource KBS with the token', async () => {
    const cwd = makeTempDir();
    try {
      const keyFile = join(cwd, 'tee.pem');
      writeFileSync(keyFile, teeKeyPem(generateTeeKey('P-521')));
      const attest = await runCli(['--url', issuer.url, 'attest', '--tee-key-file', keyFile], { cwd });
      expect(attest.code, describeCli(attest)).toBe(0);
      const tokenFile = join(cwd, 'token');
      writeFileSync(tokenFile, attest.stdout.trim());
      const get = await runCli(['--url', resourceKbs.url, 'get-resource', '--path', 'default/key/passport', '--attestation-token', tokenFile, '--tee-key-file', keyFile], { cwd });
      expect(get.code, describeCli(get)).toBe(0);
      expect(get.stdout.trim()).toBe(Buffer.from('passport secret').toString('base64'));
    } finally {
      removeTempDir(cwd);
    }
  });

  it('refuses a token from an issuer whose CA the resource KBS does not trust', async () => {
    const guest = new IndependentGuest(foreignIssuer.url, generateTeeKey('P-256'));
    const token = await guest.rcar();
    const atResource = new IndependentGuest(resourceKbs.url, guest.teeKey);
    expectErrorInformation(await atResource.getResource('default/key/passport', { bearer: token, cookie: null }), 401, 'TokenVerifierError');
  });

  it('the issuer session cookie means nothing to the resource KBS', async () => {
    const guest = new IndependentGuest(issuer.url, generateTeeKey('P-256'));
    await guest.rcar();
    const atResource = new IndependentGuest(resourceKbs.url, guest.teeKey);
    atResource.sessionId = guest.sessionId;
    expectErrorInformation(await atResource.getResource('default/key/passport'), 401, 'TokenNotFound');
  });
});
