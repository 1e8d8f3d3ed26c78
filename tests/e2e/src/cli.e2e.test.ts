/**
 * Invariant: an operator and a guest using only the kbs-client CLI (as processes) against the
 * KBS process get the upstream flow: upload + allow-all policy, `get-resource` prints the secret
 * in standard base64 for P-256 (default), P-521 and RSA TEE keys, the built-in default policy
 * denies sample evidence, and passport mode (`attest` → token → `get-resource
 * --attestation-token`) works — with tokens trusted through `insecure_header_jwk` and through a
 * CA certificate chain.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli, type CliResult } from './harness/cli.ts';
import { certChainTrust, kbsConfigToml, localFsStorage, type Storage, type TokenTrust } from './harness/configs.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain, type AdminKeys } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt } from './independent/guest.ts';
import { jsonBody } from './independent/http.ts';
import { IndependentOperator, mintAdminToken } from './independent/operator.ts';
import { generateTeeKey, teeKeyPem, type TeeKeyKind } from './independent/teeKey.ts';

const SECRET = Buffer.from('cli secret\n\u00e9\u0001 binary-safe', 'utf8');
const RESOURCE = 'default/key/cli';

interface CliFixture {
  dir: string;
  kbs: KbsProcess;
  admin: AdminKeys;
  adminTokenFile: string;
  cli(args: readonly string[]): Promise<CliResult>;
  config(args: readonly string[]): Promise<CliResult>;
  writeFile(name: string, content: string | Uint8Array): string;
}

function expectOk(result: CliResult): string {
  expect(result.code, describeCli(result)).toBe(0);
  return result.stdout;
}

async function setupFixture(tokenTrust: (dir: string) => Promise<TokenTrust>, storage: (dir: string) => Storage): Promise<CliFixture> {
  const dir = makeTempDir();
  const admin = writeAdminKeys(dir);
  const kbs = await startKbs(kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: storage(dir), tokenTrust: await tokenTrust(dir) }), { dir });
  const cwd = makeTempDir();
  const cli = (args: readonly string[]): Promise<CliResult> => runCli(['--url', kbs.url, ...args], { cwd });
  const writeFile = (name: string, content: string | Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  // The admin token comes from the CLI's own minting command when it has one, otherwise it is
  // minted by hand exactly like upstream's setup.sh.
  let token: string;
  if (capabilities.cliAdminToken) {
    const minted = await runCli(['admin-token', '--key', admin.privateKeyPath, '--issuer', 'TrusteeInDocker'], { cwd });
    token = expectOk(minted).trim();
    expect(decodeJwt(token).payload.role).toBe('admin');
  } else {
    token = mintAdminToken(admin.privateKey);
  }
  const adminTokenFile = writeFile('admin-token', `${token}\n`);
  const config = (args: readonly string[]): Promise<CliResult> => cli(['config', '--admin-token-file', adminTokenFile, ...args]);
  return { dir, kbs, admin, adminTokenFile, cli, config, writeFile };
}

async function teardown(fixture: CliFixture | undefined): Promise<void> {
  if (fixture === undefined) return;
  await fixture.kbs.stop();
  removeTempDir(fixture.dir);
}

describe.skipIf(!capabilities.kbs || !capabilities.cli)('kbs-client CLI against the KBS process (insecure_header_jwk, LocalFs)', () => {
  let f: CliFixture;
  beforeAll(async () => {
    f = await setupFixture(async () => ({ kind: 'insecure-header-jwk' }), localFsStorage);
  });
  afterAll(() => teardown(f));

  it('uploads a resource with config set-resource', async () => {
    const file = f.writeFile('secret.bin', SECRET);
    expectOk(await f.config(['set-resource', '--path', RESOURCE, '--resource-file', file]));
  });

  it('is refused by the built-in default policy for sample evidence (PolicyDeny)', async () => {
    const result = await f.cli(['get-resource', '--path', RESOURCE]);
    expect(result.code, describeCli(result)).not.toBe(0);
    expect(result.stdout.trim()).toBe('');
    expect(result.stderr).toMatch(/PolicyDeny|denied by policy/i);
  });

  it('uploads the allow-all resource policy', async () => {
    expectOk(await f.config(['set-resource-policy', '--allow-all']));
  });

  it.each<TeeKeyKind | 'default'>(['default', 'P-256', 'P-521', 'RSA'])('get-resource prints the secret as standard base64 with a %s TEE key', async (kind) => {
    const args = ['get-resource', '--path', RESOURCE];
    if (kind !== 'default') args.push('--tee-key-file', f.writeFile(`tee-${kind}.pem`, teeKeyPem(generateTeeKey(kind))));
    const stdout = expectOk(await f.cli(args));
    expect(stdout.trim()).toBe(SECRET.toString('base64'));
  });

  it('passport: attest prints a token and get-resource --attestation-token uses it', async () => {
    const keyFile = f.writeFile('passport-tee.pem', teeKeyPem(generateTeeKey('P-256')));
    const token = expectOk(await f.cli(['attest', '--tee-key-file', keyFile])).trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const tokenFile = f.writeFile('attestation-token', token);
    const stdout = expectOk(await f.cli(['get-resource', '--path', RESOURCE, '--attestation-token', tokenFile, '--tee-key-file', keyFile]));
    expect(stdout.trim()).toBe(SECRET.toString('base64'));

    // The token is bound to the key it was issued for: another key cannot use it.
    const otherKey = f.writeFile('other-tee.pem', teeKeyPem(generateTeeKey('P-256')));
    const wrongKey = await f.cli(['get-resource', '--path', RESOURCE, '--attestation-token', tokenFile, '--tee-key-file', otherKey]);
    expect(wrongKey.code, describeCli(wrongKey)).not.toBe(0);
    expect(wrongKey.stdout.trim()).toBe('');
  });

  it('sets sample reference values and an attestation policy, and deletes the resource', async () => {
    expectOk(await f.config(['set-sample-reference-value', 'launch_digest', 'abcde']));
    const read = expectOk(await f.config(['get-reference-value', '--id', 'launch_digest']));
    expect(read).toContain('abcde');
    const policyFile = f.writeFile('ear.rego', 'package policy\nimport rego.v1\n\ntrust_claims := {"executables": 2, "hardware": 2, "configuration": 2}\n');
    expectOk(await f.config(['set-attestation-policy', '--policy-file', policyFile]));
    expectOk(await f.config(['delete-resource', '--path', RESOURCE]));
    const gone = await f.cli(['get-resource', '--path', RESOURCE]);
    expect(gone.code, describeCli(gone)).not.toBe(0);
  });

  it('refuses admin calls with a token from a key the KBS does not trust', async () => {
    const foreign = writeAdminKeys(f.dir, 'foreign');
    const tokenFile = f.writeFile('foreign-token', mintAdminToken(foreign.privateKey));
    const result = await f.cli(['config', '--admin-token-file', tokenFile, 'set-resource-policy', '--deny-all']);
    expect(result.code, describeCli(result)).not.toBe(0);
    expect(result.stderr).toMatch(/AdminAuth|admin access denied/i);
  });
});

describe.skipIf(!capabilities.kbs || !capabilities.cli)('kbs-client CLI conveniences and failures (same process contract as upstream)', () => {
  let f: CliFixture;
  beforeAll(async () => {
    f = await setupFixture(async () => ({ kind: 'insecure-header-jwk' }), () => ({ kind: 'Memory' }));
    const file = f.writeFile('secret.bin', SECRET);
    expectOk(await f.config(['set-resource', '--path', RESOURCE, '--resource-file', file]));
    expectOk(await f.config(['set-resource-policy', '--allow-all']));
  });
  afterAll(() => teardown(f));

  const stackTrace = /\n\s+at .+:\d+:\d+/;

  it('finds the admin token in ./kbs/config/docker-compose/admin-token, then in $HOME/.trustee/admin-token', async () => {
    const token = readFileSync(f.adminTokenFile, 'utf8');
    const cwd = makeTempDir();
    const home = makeTempDir();
    try {
      mkdirSync(join(cwd, 'kbs/config/docker-compose'), { recursive: true });
      writeFileSync(join(cwd, 'kbs/config/docker-compose/admin-token'), token);
      const fromCwd = await runCli(['--url', f.kbs.url, 'config', 'get-resource-policy'], { cwd, home });
      expect(expectOk(fromCwd)).toContain('resource-policy');

      const elsewhere = makeTempDir();
      mkdirSync(join(home, '.trustee'), { recursive: true });
      writeFileSync(join(home, '.trustee/admin-token'), token);
      const fromHome = await runCli(['--url', f.kbs.url, 'config', 'get-resource-policy'], { cwd: elsewhere, home });
      expect(expectOk(fromHome)).toContain('resource-policy');
      removeTempDir(elsewhere);

      const anonymous = await runCli(['--url', f.kbs.url, 'config', 'get-resource-policy'], { cwd: home, home: cwd });
      expect(anonymous.code, describeCli(anonymous)).not.toBe(0);
    } finally {
      removeTempDir(cwd);
      removeTempDir(home);
    }
  });

  it('accepts a kbs:/// resource URI and a KBS URL with a trailing slash', async () => {
    const result = await runCli(['--url', `${f.kbs.url}/`, 'get-resource', '--path', `kbs:///${RESOURCE}`], { cwd: f.dir });
    expect(expectOk(result).trim()).toBe(SECRET.toString('base64'));
  });

  it('sends the positional INIT_DATA with attest, and the token carries its claims', async () => {
    const toml = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"purpose" = "e2e"\n';
    const token = expectOk(await f.cli(['attest', toml])).trim();
    const annotated = (decodeJwt(token).payload.submods as Record<string, Record<string, Record<string, unknown>>>).cpu0?.['ear.veraison.annotated-evidence'];
    expect(annotated?.init_data_claims).toEqual({ purpose: 'e2e' });
    expect(annotated?.init_data).toBe(createHash('sha256').update(toml).digest('base64'));
  });

  it('stores --as-integer --as-single-value reference values as scalars', async () => {
    expectOk(await f.config(['set-sample-reference-value', '--as-integer', '--as-single-value', 'minimum_minor_version', '4']));
    expectOk(await f.config(['set-sample-reference-value', '--as-bool', 'debug_allowed', 'false']));
    const operator = new IndependentOperator(f.kbs.url, readFileSync(f.adminTokenFile, 'utf8').trim());
    expect(jsonBody(await operator.getReferenceValue('minimum_minor_version'))).toBe(4);
    expect(jsonBody(await operator.getReferenceValue('debug_allowed'))).toEqual([false]);
  });

  it.concurrent.for<[string, () => string[], RegExp]>([
    ['a resource path with two segments', () => ['get-resource', '--path', 'a/b'], /a\/b|path/i],
    ['--attestation-token without --tee-key-file', () => ['get-resource', '--path', RESOURCE, '--attestation-token', f.adminTokenFile], /tee-key-file/],
    ['two policy choices', () => ['config', '--admin-token-file', f.adminTokenFile, 'set-resource-policy', '--allow-all', '--deny-all'], /exactly one|allow-all|deny-all/i],
    ['a policy file with invalid Rego', () => ['config', '--admin-token-file', f.adminTokenFile, 'set-resource-policy', '--policy-file', f.writeFile('bad.rego', 'package policy\nallow if {')], /PolicyEngineError|policy/i],
    ['a missing admin token file', () => ['config', '--admin-token-file', join(f.dir, 'nope'), 'get-resource-policy'], /nope|token/i],
    ['a P-384 TEE key', () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      return ['get-resource', '--path', RESOURCE, '--tee-key-file', f.writeFile('p384.pem', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())];
    }, /P-?256|P-?521|key/i],
    ['an unknown subcommand', () => ['frobnicate'], /frobnicate|unknown|usage/i],
  ])('fails with %s: non-zero exit, a message, no secret on stdout, no stack trace', async ([, args, mentions], { expect }) => {
    const result = await f.cli(args());
    expect(result.code, describeCli(result)).not.toBe(0);
    expect(result.stdout.trim()).toBe('');
    expect(result.stderr).toMatch(mentions);
    expect(result.stderr, describeCli(result)).not.toMatch(stackTrace);
  });

  it('fails cleanly when the KBS is unreachable', async () => {
    const result = await runCli(['--url', 'http://127.0.0.1:1', 'get-resource', '--path', RESOURCE, '--rcar-attempts', '1'], { cwd: f.dir });
    expect(result.code, describeCli(result)).not.toBe(0);
    expect(result.stderr).toMatch(/127\.0\.0\.1:1|ECONNREFUSED|connect/i);
    expect(result.stderr, describeCli(result)).not.toMatch(stackTrace);
  });
});

describe.skipIf(!capabilities.kbs || !capabilities.cli)('kbs-client CLI against the KBS process (token signer chain + trusted_certs_paths)', () => {
  let f: CliFixture;
  beforeAll(async () => {
    f = await setupFixture(
      async (dir) => {
        const chain = await writeSignerChain(dir);
        return certChainTrust(chain);
      },
      (dir) => (capabilities.sqliteStorage ? { kind: 'Sqlite', path: join(dir, 'trustee.sqlite') } : localFsStorage(dir)),
    );
  });
  afterAll(() => teardown(f));

  it('runs the operator and guest flow with x5c-verified tokens', async () => {
    const file = f.writeFile('secret.bin', SECRET);
    expectOk(await f.config(['set-resource', '--path', RESOURCE, '--resource-file', file]));
    expectOk(await f.config(['set-resource-policy', '--allow-all']));
    const stdout = expectOk(await f.cli(['get-resource', '--path', RESOURCE]));
    expect(stdout.trim()).toBe(SECRET.toString('base64'));

    const keyFile = f.writeFile('tee-rsa.pem', teeKeyPem(generateTeeKey('RSA')));
    const token = expectOk(await f.cli(['attest', '--tee-key-file', keyFile])).trim();
    const header = decodeJwt(token).header as { alg?: string; jwk?: { x5c?: unknown } };
    expect(header.alg).toBe('ES256');
    expect(Array.isArray(header.jwk?.x5c) && header.jwk.x5c.length >= 1).toBe(true);
    const tokenFile = f.writeFile('attestation-token', token);
    const passport = expectOk(await f.cli(['get-resource', '--path', RESOURCE, '--attestation-token', tokenFile, '--tee-key-file', keyFile]));
    expect(passport.trim()).toBe(SECRET.toString('base64'));
  });
});
