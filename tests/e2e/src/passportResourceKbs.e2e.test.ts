/**
 * Invariant: passport mode across KBS processes (upstream trustee's `passport-resource-kbs` build):
 * a guest attests at an issuer KBS (builtin AS, token signer certified by a test CA) and presents
 * the token to a resource-only KBS (`[attestation_service] type = "none"`), which releases the
 * secret only to tokens it can verify — through the CA in `trusted_certs_paths` (x5c chain) or
 * through a key in `trusted_jwk_sets` (kid) — and has no RCAR, attestation-policy or
 * reference-value endpoints (404 PluginNotFound, as upstream's passport resource build).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli, type CliResult } from './harness/cli.ts';
import { certChainTrust, kbsConfigToml } from './harness/configs.ts';
import { expectErrorInformation } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain, type SignerChain } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt } from './independent/guest.ts';
import { httpRequest } from './independent/http.ts';
import { es256HeaderJwk, signEs256Jwt, x5cFromPem } from './independent/jwt.ts';
import { mintAdminToken } from './independent/operator.ts';
import { generateTeeKey, teeKeyPem } from './independent/teeKey.ts';

const SECRET = Buffer.from('released against a passport');
const RESOURCE = 'default/key/passport';
const KID = 'coco-as-e2e';

/** A resource-only KBS: the issuer-style config with its token trust and attestation service replaced. */
function resourceKbsToml(adminPublicKeyPath: string, attestationToken: string): string {
  return kbsConfigToml({ adminPublicKeyPath, storage: { kind: 'Memory' }, tokenTrust: { kind: 'insecure-header-jwk' } })
    .replace(/\[attestation_token\][\s\S]*?(?=\n\[attestation_service\])/, `[attestation_token]\n${attestationToken}\n`)
    .replace(/\[attestation_service\][\s\S]*?(?=\n\[admin\])/, '[attestation_service]\ntype = "none"\n');
}

function expectOk(result: CliResult): string {
  expect(result.code, describeCli(result)).toBe(0);
  return result.stdout;
}

function expectRefused(result: CliResult): void {
  expect(result.code, describeCli(result)).not.toBe(0);
  expect(result.stdout.trim()).toBe('');
}

describe.skipIf(!capabilities.kbs || !capabilities.cli)('passport mode: issuer KBS → resource-only KBS (type = "none")', () => {
  let dir: string;
  let signer: SignerChain;
  let issuer: KbsProcess;
  let resourceByCa: KbsProcess;
  let resourceByJwks: KbsProcess;
  let cli: (url: string, args: readonly string[]) => Promise<CliResult>;
  let adminTokenFile: string;
  let teeKeyFile: string;
  let token: string;

  const file = (name: string, content: string | Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  /** The issuer's claims re-signed: by another key (foreign) or by the issuer's key under a kid. */
  const resign = (header: Record<string, unknown>, keyPath: string): string => signEs256Jwt(header, decodeJwt(token).payload, createPrivateKey(readFileSync(keyPath, 'utf8')));

  beforeAll(async () => {
    dir = makeTempDir();
    const admin = writeAdminKeys(dir);
    signer = await writeSignerChain(dir, 'issuer');
    const jwks = { keys: [{ ...es256HeaderJwk(createPrivateKey(readFileSync(signer.keyPath, 'utf8'))), kid: KID, use: 'sig' }] };
    const jwksPath = file('issuer-jwks.json', JSON.stringify(jwks));
    [issuer, resourceByCa, resourceByJwks] = await Promise.all([
      startKbs(
        kbsConfigToml({
          adminPublicKeyPath: admin.publicKeyPath,
          storage: { kind: 'Memory' },
          tokenTrust: certChainTrust(signer),
        }),
        { dir, configName: 'issuer.toml' },
      ),
      startKbs(resourceKbsToml(admin.publicKeyPath, `trusted_certs_paths = [${JSON.stringify(signer.caCertPath)}]`), { dir, configName: 'resource-ca.toml' }),
      startKbs(resourceKbsToml(admin.publicKeyPath, `trusted_jwk_sets = [${JSON.stringify(`file://${jwksPath}`)}]`), { dir, configName: 'resource-jwks.toml' }),
    ]);
    const cwd = makeTempDir();
    cli = (url, args) => runCli(['--url', url, ...args], { cwd });
    adminTokenFile = file('admin-token', `${mintAdminToken(admin.privateKey)}\n`);
    teeKeyFile = file('tee.pem', teeKeyPem(generateTeeKey('P-256')));
    const secretFile = file('secret.bin', SECRET);
    for (const kbs of [resourceByCa, resourceByJwks]) {
      expectOk(await cli(kbs.url, ['config', '--admin-token-file', adminTokenFile, 'set-resource', '--path', RESOURCE, '--resource-file', secretFile]));
      expectOk(await cli(kbs.url, ['config', '--admin-token-file', adminTokenFile, 'set-resource-policy', '--allow-all']));
    }
  });

  afterAll(async () => {
    await Promise.all([issuer?.stop(), resourceByCa?.stop(), resourceByJwks?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('the guest attests at the issuer and the resource KBS releases the secret against the token (x5c → trusted CA)', async () => {
    token = expectOk(await cli(issuer.url, ['attest', '--tee-key-file', teeKeyFile])).trim();
    const header = decodeJwt(token).header as { jwk?: { x5c?: unknown[] } };
    expect(header.jwk?.x5c).toEqual(x5cFromPem(readFileSync(signer.certChainPath, 'utf8')));
    const tokenFile = file('passport-token', token);
    const stdout = expectOk(await cli(resourceByCa.url, ['get-resource', '--path', RESOURCE, '--attestation-token', tokenFile, '--tee-key-file', teeKeyFile]));
    expect(Buffer.from(stdout.trim(), 'base64')).toEqual(SECRET);
  });

  it('a token from a signer of another CA is refused (TokenVerifierError)', async () => {
    const foreign = await writeSignerChain(dir, 'foreign');
    const forged = resign({ typ: 'JWT', alg: 'ES256', jwk: es256HeaderJwk(createPrivateKey(readFileSync(foreign.keyPath, 'utf8')), x5cFromPem(readFileSync(foreign.certChainPath, 'utf8'))) }, foreign.keyPath);
    expectRefused(await cli(resourceByCa.url, ['get-resource', '--path', RESOURCE, '--attestation-token', file('foreign-token', forged), '--tee-key-file', teeKeyFile]));
    const response = await httpRequest(resourceByCa.url, { method: 'GET', path: `/kbs/v0/resource/${RESOURCE}`, headers: { authorization: `Bearer ${forged}` } });
    expectErrorInformation(response, 401, 'TokenVerifierError');
    // Without any token there is nothing to verify.
    expectErrorInformation(await httpRequest(resourceByCa.url, { method: 'GET', path: `/kbs/v0/resource/${RESOURCE}` }), 401, 'TokenNotFound');
  });

  it.each([
    ['POST', '/kbs/v0/auth', 'auth'],
    ['POST', '/kbs/v0/attest', 'attest'],
    ['POST', '/kbs/v0/attestation-policy', 'attestation-policy'],
    ['POST', '/kbs/v0/reference-value', 'reference-value'],
    ['GET', '/kbs/v0/reference-value/svn', 'reference-value'],
  ] as const)('%s %s on the resource KBS → 404 PluginNotFound', async (method, path, name) => {
    const response = await httpRequest(resourceByCa.url, {
      method,
      path,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${readFileSync(adminTokenFile, 'utf8').trim()}` },
      ...(method === 'POST' ? { body: Buffer.from('{"version":"0.4.0","tee":"sample","extra-params":""}') } : {}),
    });
    const info = expectErrorInformation(response, 404, 'PluginNotFound');
    expect(info.detail).toBe(`Plugin ${name} not found`);
  });

  it('the kbs-client RCAR flow against the resource KBS fails (no /auth there)', async () => {
    const result = await cli(resourceByCa.url, ['get-resource', '--path', RESOURCE, '--tee-key-file', teeKeyFile, '--rcar-attempts', '1']);
    expectRefused(result);
    expect(result.stderr).toMatch(/PluginNotFound|404|not found/i);
  });

  it('JWKS variant: the issuer key published in trusted_jwk_sets verifies a kid-token; a header-jwk token needs trusted_certs_paths (upstream rule)', async () => {
    const byKid = resign({ typ: 'JWT', alg: 'ES256', kid: KID }, signer.keyPath);
    const stdout = expectOk(await cli(resourceByJwks.url, ['get-resource', '--path', RESOURCE, '--attestation-token', file('kid-token', byKid), '--tee-key-file', teeKeyFile]));
    expect(Buffer.from(stdout.trim(), 'base64')).toEqual(SECRET);

    const headerJwk = await httpRequest(resourceByJwks.url, { method: 'GET', path: `/kbs/v0/resource/${RESOURCE}`, headers: { authorization: `Bearer ${token}` } });
    expectErrorInformation(headerJwk, 401, 'TokenVerifierError');

    const foreign = await writeSignerChain(dir, 'foreign-kid');
    const wrongKey = resign({ typ: 'JWT', alg: 'ES256', kid: KID }, foreign.keyPath);
    expectErrorInformation(await httpRequest(resourceByJwks.url, { method: 'GET', path: `/kbs/v0/resource/${RESOURCE}`, headers: { authorization: `Bearer ${wrongKey}` } }), 401, 'TokenVerifierError');
    const unknownKid = resign({ typ: 'JWT', alg: 'ES256', kid: 'someone-else' }, signer.keyPath);
    expectErrorInformation(await httpRequest(resourceByJwks.url, { method: 'GET', path: `/kbs/v0/resource/${RESOURCE}`, headers: { authorization: `Bearer ${unknownKid}` } }), 401, 'TokenVerifierError');
  });
});
