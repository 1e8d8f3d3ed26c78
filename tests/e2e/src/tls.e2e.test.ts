/**
 * Invariant: with `insecure_http = false` and an upstream-style `private_key` / `certificate`
 * pair, the KBS serves only HTTPS with that certificate chain; the CLI works against it with
 * `--cert-file <CA>` and refuses it without (user-needs theme 10: TLS by default); and the
 * `[http_server]` TLS settings (profile, versions, ciphers, groups) decide what a handshake may
 * negotiate: a client outside them fails the handshake.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli } from './harness/cli.ts';
import { certChainTrust, kbsConfigToml } from './harness/configs.ts';
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
        tokenTrust: certChainTrust(chain),
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

/** The key-exchange group of a TLS 1.2 handshake (`{}` when there is none). */
function ephemeralGroup(info: object | null): string | undefined {
  return info !== null && 'name' in info && typeof info.name === 'string' ? info.name : undefined;
}

/** One TLS handshake with Node's client: the negotiated protocol and cipher, or the failure. */
function handshake(url: string, ca: string, options: ConnectionOptions): Promise<{ ok: true; protocol: string | null; cipher: string; group: string | undefined } | { ok: false; error: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), ca, servername: 'localhost', ...options });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: 'timeout' });
    }, 10_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const result = { ok: true as const, protocol: socket.getProtocol(), cipher: socket.getCipher().name, group: ephemeralGroup(socket.getEphemeralKeyInfo()) };
      socket.end();
      resolve(result);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: error.message });
    });
  });
}

// Upstream's [http_server] TLS settings (kbs/src/config.rs TlsConfig), honoured by the handshake itself.
describe.skipIf(!capabilities.kbs)('KBS TLS settings from [http_server]', () => {
  let dir: string;
  let ca: string;
  let modern: KbsProcess;
  let custom: KbsProcess;

  beforeAll(async () => {
    dir = makeTempDir();
    const admin = writeAdminKeys(dir);
    const tls = await writeTlsServerCert(dir);
    ca = readFileSync(tls.caCertPath, 'utf8');
    const config = (settings: Record<string, string>): string =>
      kbsConfigToml({
        adminPublicKeyPath: admin.publicKeyPath,
        storage: { kind: 'Memory' },
        tokenTrust: { kind: 'insecure-header-jwk' },
        tls: { privateKeyPath: tls.keyPath, certificatePath: tls.certPath, settings },
      });
    // Two processes side by side: each start is mostly module loading.
    [modern, custom] = await Promise.all([
      startKbs(config({ tls_profile: 'modern' }), { dir, configName: 'modern.toml' }),
      startKbs(
        config({ tls_profile: 'custom', tls_min_version: '1.2', tls_max_version: '1.2', tls_ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', tls_groups: 'secp384r1' }),
        { dir, configName: 'custom.toml' },
      ),
    ]);
  });

  afterAll(async () => {
    await Promise.all([modern?.stop(), custom?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('tls_profile = "modern" serves TLS 1.3 only: a TLS 1.2 client fails the handshake', async () => {
    const tls12 = await handshake(modern.url, ca, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    expect(tls12.ok, JSON.stringify(tls12)).toBe(false);
    const tls13 = await handshake(modern.url, ca, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(tls13).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
  });

  it('custom: TLS 1.2 only, one cipher, one group; anything else fails the handshake', async () => {
    expect(await handshake(custom.url, ca, { minVersion: 'TLSv1.3' })).toMatchObject({ ok: false });
    expect(await handshake(custom.url, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).toMatchObject({ ok: false });
    expect(await handshake(custom.url, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', ecdhCurve: 'X25519:prime256v1' })).toMatchObject({ ok: false });
    // prime256v1 stays on offer: in TLS 1.2 the client's groups also admit the server's P-256 certificate.
    expect(await handshake(custom.url, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256', ecdhCurve: 'X25519:prime256v1:secp384r1' })).toEqual({
      ok: true,
      protocol: 'TLSv1.2',
      cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384',
      group: 'secp384r1',
    });
  });
});
