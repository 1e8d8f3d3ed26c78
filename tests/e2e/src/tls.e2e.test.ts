/**
 * Invariant: with `insecure_http = false` and an upstream-style `private_key` / `certificate`
 * pair, the KBS serves only HTTPS with that certificate chain; the CLI works against it with
 * `--cert-file <CA>` and refuses it without (user-needs theme 10: TLS by default).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli } from './harness/cli.ts';
import { kbsConfigToml } from './harness/configs.ts';
import { describeResponse } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain, writeTlsServerCert, type TlsServerCert } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { httpRequest } from './independent/http.ts';
import { mintAdminToken } from './independent/operator.ts';

describe.skipIf(!capabilities.kbs || !capabilities.cli)('KBS over HTTPS', () => {
  let dir: string;
  let tls: TlsServerCert;
  let kbs: KbsProcess;
  let tokenFile: string;

  beforeAll(async () => {
    dir = makeTempDir();
    const admin = writeAdminKeys(dir);
    tls = await writeTlsServerCert(dir);
    const chain = await writeSignerChain(dir);
    kbs = await startKbs(
      kbsConfigToml({
        adminPublicKeyPath: admin.publicKeyPath,
        storage: { kind: 'Memory' },
        tokenTrust: { kind: 'cert-chain', signerKeyPath: chain.keyPath, signerCertChainPath: chain.certChainPath, caCertPath: chain.caCertPath },
        tls: { privateKeyPath: tls.keyPath, certificatePath: tls.certPath },
      }),
      { dir },
    );
    tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, mintAdminToken(admin.privateKey));
  });

  afterAll(async () => {
    await kbs?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('announces an https:// URL and serves the configured chain', async () => {
    expect(kbs.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await httpRequest(kbs.url, { method: 'GET', path: '/healthz', ca: readFileSync(tls.caCertPath, 'utf8') });
    expect(response.status, describeResponse(response)).toBe(200);
    await expect(httpRequest(kbs.url, { method: 'GET', path: '/healthz' })).rejects.toThrow(/certificate|self.signed|issuer/i);
    await expect(httpRequest(kbs.url.replace('https:', 'http:'), { method: 'GET', path: '/healthz' })).rejects.toThrow();
  });

  it('runs the CLI flow with --cert-file and refuses the server without it', async () => {
    const cwd = makeTempDir();
    try {
      const cli = (args: string[]) => runCli(['--url', kbs.url, '--cert-file', tls.caCertPath, ...args], { cwd });
      const secretFile = join(dir, 'secret');
      writeFileSync(secretFile, 'over tls');
      for (const args of [
        ['config', '--admin-token-file', tokenFile, 'set-resource', '--path', 'default/key/tls', '--resource-file', secretFile],
        ['config', '--admin-token-file', tokenFile, 'set-resource-policy', '--allow-all'],
      ]) {
        const result = await cli(args);
        expect(result.code, describeCli(result)).toBe(0);
      }
      const get = await cli(['get-resource', '--path', 'default/key/tls']);
      expect(get.code, describeCli(get)).toBe(0);
      expect(get.stdout.trim()).toBe(Buffer.from('over tls').toString('base64'));

      const untrusted = await runCli(['--url', kbs.url, 'get-resource', '--path', 'default/key/tls', '--rcar-attempts', '1'], { cwd });
      expect(untrusted.code, describeCli(untrusted)).not.toBe(0);
      expect(untrusted.stdout.trim()).toBe('');
    } finally {
      removeTempDir(cwd);
    }
  });
});
