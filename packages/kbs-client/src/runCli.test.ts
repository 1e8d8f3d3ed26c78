// Invariant: the CLI behaves like upstream kbs-client flag for flag (global flags first, admin
// token resolution order, outputs), prints only the requested value on stdout, and reports KBS
// errors as type + detail with a non-zero exit code.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { b64std, b64url, DEFAULT_RESOURCE_POLICY } from '@trustee/protocol';
import { runCli, type CliIo } from './runCli.ts';
import { FakeKbs, type FakeKbsOptions } from './testing/fakeKbs.ts';

let workDir = '';
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'kbs-client-cli-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const running: FakeKbs[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function start(options: FakeKbsOptions = {}): Promise<FakeKbs> {
  const kbs = await FakeKbs.start(options);
  running.push(kbs);
  return kbs;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: options.env ?? { HOME: join(workDir, 'empty-home') },
    cwd: options.cwd ?? workDir,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

function file(name: string, content: string | Uint8Array): string {
  const path = join(workDir, name);
  writeFileSync(path, content);
  return path;
}

describe('attest and get-resource', () => {
  it('attest prints the token and nothing else', async () => {
    const kbs = await start();
    const run = await cli(['--url', kbs.url, 'attest']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(kbs.requestsTo('/kbs/v0/attest')).toHaveLength(1);
  });

  it('get-resource prints standard base64 of the plaintext and sends init-data', async () => {
    const kbs = await start();
    const secret = Buffer.from([0xfb, 0xff, 0x00, 0x41]);
    kbs.resources.set('default/key/testfile', secret);
    const initData = 'version = "0.1.0"\nalgorithm = "sha384"\n';
    const run = await cli([`--url=${kbs.url}`, 'get-resource', '--path', 'default/key/testfile', initData]);
    expect(run).toMatchObject({ code: 0, stdout: `${b64std.encode(secret)}\n` });
    const attest = JSON.parse(kbs.requestsTo('/kbs/v0/attest')[0]?.body.toString() ?? '{}') as { 'init-data': unknown };
    expect(attest['init-data']).toEqual({ format: 'toml', body: initData });
  });

  it('get-resource with --attestation-token uses the token and the given TEE key', async () => {
    const kbs = await start();
    kbs.resources.set('a/b/c', Buffer.from('passport'));
    const keyFile = file('tee.pem', (await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }));
    const attested = await cli(['--url', kbs.url, 'attest', '--tee-key-file', keyFile]);
    const tokenFile = file('token', `${attested.stdout}\n`);
    const authCalls = kbs.requestsTo('/kbs/v0/auth').length;
    const run = await cli(['--url', kbs.url, 'get-resource', '--path', 'a/b/c', '--attestation-token', tokenFile, '--tee-key-file', keyFile]);
    expect(run).toMatchObject({ code: 0, stdout: `${b64std.encode(Buffer.from('passport'))}\n` });
    expect(kbs.requestsTo('/kbs/v0/auth')).toHaveLength(authCalls);
    expect(kbs.requestsTo('/kbs/v0/resource/').at(-1)?.headers.authorization).toBe(`Bearer ${attested.stdout.trim()}`);
  });

  it('--attestation-token without --tee-key-file is a usage error', async () => {
    const run = await cli(['get-resource', '--path', 'a/b/c', '--attestation-token', file('t', 'x')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--tee-key-file');
  });

  it('a policy denial prints the ErrorInformation on stderr and exits 1', async () => {
    const kbs = await start({ allow: () => false });
    const run = await cli(['--url', kbs.url, 'get-resource', '--path', 'a/b/c']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('type: https://github.com/confidential-containers/kbs/errors/PolicyDeny');
    expect(run.stderr).toContain('detail: Access denied by policy');
  });

  it('--evidence-file sends the file as primary evidence under --tee', async () => {
    const kbs = await start();
    const evidence = { quote: 'AAAA', cc_eventlog: null };
    const run = await cli(['--url', kbs.url, 'attest', '--tee', 'tdx', '--evidence-file', file('evidence.json', JSON.stringify(evidence))]);
    expect(run.code).toBe(0);
    expect(JSON.parse(kbs.requestsTo('/kbs/v0/auth')[0]?.body.toString() ?? '{}')).toMatchObject({ tee: 'tdx' });
    expect(JSON.parse(kbs.requestsTo('/kbs/v0/attest')[0]?.body.toString() ?? '{}')).toMatchObject({ 'tee-evidence': { primary_evidence: evidence } });
  });

  it('ENABLE_SAMPLE_DEVICE adds sampledevice evidence', async () => {
    const kbs = await start();
    const run = await cli(['--url', kbs.url, 'attest'], { env: { HOME: workDir, ENABLE_SAMPLE_DEVICE: '' } });
    expect(run.code).toBe(0);
    const attest = JSON.parse(kbs.requestsTo('/kbs/v0/attest')[0]?.body.toString() ?? '{}') as { 'tee-evidence': { additional_evidence: string } };
    expect(Object.keys(JSON.parse(attest['tee-evidence'].additional_evidence) as object)).toEqual(['sampledevice']);
  });

  it.each([
    [['attest', '--tee', 'snp'], '--evidence-file or --evidence-command'],
    [['attest', '--tee-key-algorithm', 'RSA1_5'], '--tee-key-algorithm'],
    [['attest', '--bogus'], 'bogus'],
    [['attest', 'a', 'b'], 'unexpected argument'],
    [['--nope', 'attest'], 'unknown global option'],
    [['frobnicate'], 'unknown command'],
    [[], 'missing command'],
    [['get-resource'], '--path'],
    [['attest', '--rcar-attempts', '0'], '--rcar-attempts'],
  ])('usage error for %j', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });

  it('prints help', async () => {
    expect((await cli(['--help'])).stdout).toContain('Usage: kbs-client');
    expect((await cli(['config', '--help'])).stdout).toContain('set-sample-reference-value');
  });
});

describe('config', () => {
  it('uploads the bundled default resource policy (not deny-all like upstream)', async () => {
    const kbs = await start();
    const run = await cli(['--url', kbs.url, 'config', 'set-resource-policy', '--default']);
    expect(run.code).toBe(0);
    expect(kbs.policies[0]?.body).toEqual({ policy: b64url.encode(Buffer.from(DEFAULT_RESOURCE_POLICY)) });
    expect(run.stdout).toBe(`Set resource policy success \n policy: ${b64std.encode(Buffer.from(DEFAULT_RESOURCE_POLICY))}\n`);
  });

  it.each([[[]], [['--allow-all', '--deny-all']]])('set-resource-policy needs exactly one choice (%j)', async (flags) => {
    expect((await cli(['config', 'set-resource-policy', ...flags])).code).toBe(2);
  });

  it('set-attestation-policy, set-resource, delete-resource, get-resource-policy', async () => {
    const kbs = await start({ adminToken: 'tok' });
    const token = file('admin-token', '  tok\n');
    const base = ['--url', kbs.url, 'config', '--admin-token-file', token];
    expect((await cli([...base, 'set-attestation-policy', '--policy-file', file('p.rego', 'package policy\n'), '--id', 'default_gpu'])).code).toBe(0);
    expect(kbs.policies[0]?.body).toEqual({ type: 'rego', policy_id: 'default_gpu', policy: b64url.encode(Buffer.from('package policy\n')) });

    const set = await cli([...base, 'set-resource', '--path', 'r/t/x', '--resource-file', file('secret.bin', 'SECRET-VALUE')]);
    expect(set.code).toBe(0);
    expect(set.stdout).not.toContain(b64std.encode(Buffer.from('SECRET-VALUE')));
    expect(set.stdout).not.toContain('SECRET-VALUE');
    expect(kbs.resources.get('r/t/x')).toEqual(new Uint8Array(Buffer.from('SECRET-VALUE')));

    expect((await cli([...base, 'get-resource-policy'])).stdout).toBe('["resource-policy"]\n');
    expect((await cli([...base, 'delete-resource', '--path', 'r/t/x'])).stdout).toBe('Delete resource success\n');
    const missing = await cli([...base, 'delete-resource', '--path', 'r/t/x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('PluginInternalError');
  });

  it.each([
    [['rv', 'abc'], ['abc']],
    [['rv', '42', '--as-integer'], [42]],
    [['--as-integer', '--as-single-value', '--', 'rv', '-7'], -7],
    [['rv', 'true', '--as-bool'], [true]],
    [['rv', 'false', '--as-bool', '--as-single-value'], false],
  ])('set-sample-reference-value %j stores %j', async (args, stored) => {
    const kbs = await start();
    const run = await cli(['--url', kbs.url, 'config', 'set-sample-reference-value', ...args]);
    expect(run).toMatchObject({ code: 0, stdout: 'Reference Values Updated\n' });
    expect(kbs.referenceValues.get('rv')).toEqual(stored);
    const get = await cli(['--url', kbs.url, 'config', 'get-reference-value', '--id', 'rv']);
    expect(get.stdout).toBe(`${JSON.stringify(stored)}\n`);
  });

  it.each([
    [['rv', '2147483648', '--as-integer']],
    [['rv', '1.5', '--as-integer']],
    [['rv', 'yes', '--as-bool']],
    [['rv', '1', '--as-integer', '--as-bool']],
    [['rv']],
  ])('set-sample-reference-value rejects %j', async (args) => {
    expect((await cli(['config', 'set-sample-reference-value', ...args])).code).toBe(2);
  });

  it('resolves the admin token like upstream: flag, ./kbs/config/docker-compose/admin-token, ~/.trustee/admin-token, none', async () => {
    const kbs = await start();
    const cwd = join(workDir, 'checkout');
    const home = join(workDir, 'home');
    mkdirSync(join(cwd, 'kbs/config/docker-compose'), { recursive: true });
    mkdirSync(join(home, '.trustee'), { recursive: true });
    const authorization = async (extra: string[] = []): Promise<string | undefined> => {
      await cli(['--url', kbs.url, 'config', ...extra, 'get-resource-policy'], { cwd, env: { HOME: home } });
      return kbs.requests.at(-1)?.headers.authorization;
    };

    expect(await authorization()).toBeUndefined();
    writeFileSync(join(home, '.trustee/admin-token'), 'from-home\n');
    expect(await authorization()).toBe('Bearer from-home');
    writeFileSync(join(cwd, 'kbs/config/docker-compose/admin-token'), 'from-compose\n');
    expect(await authorization()).toBe('Bearer from-compose');
    expect(await authorization(['--admin-token-file', file('explicit', 'explicit ')])).toBe('Bearer explicit');
  });
});

describe('admin-token and keygen', () => {
  it('keygen writes a key pair that admin-token can sign with', async () => {
    const out = join(workDir, 'admin-key');
    expect((await cli(['keygen', '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(readFileSync(`${out}.pub`, 'utf8')).toContain('BEGIN PUBLIC KEY');
    expect((await cli(['keygen', '--out', out])).code).toBe(1); // never overwrites a key

    const run = await cli(['admin-token', '--key', out, '--issuer', 'iss', '--audience', 'KBS', '--ttl', '10m', '--role', 'admin']);
    expect(run.code).toBe(0);
    const { createPublicKey } = await import('node:crypto');
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(run.stdout.trim(), createPublicKey(readFileSync(`${out}.pub`, 'utf8')), { issuer: 'iss', audience: 'KBS' });
    expect(payload.role).toBe('admin');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasOpenssl())('HTTPS with --cert-file', () => {
  it('trusts the extra CA and refuses the server without it', async () => {
    const key = join(workDir, 'tls.key');
    const cert = join(workDir, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=kbs-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const kbs = await start({ tls: { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') } });
    kbs.resources.set('a/b/c', Buffer.from('over tls'));
    const ok = await cli(['--url', kbs.url, '--cert-file', cert, 'get-resource', '--path', 'a/b/c']);
    expect(ok).toMatchObject({ code: 0, stdout: `${b64std.encode(Buffer.from('over tls'))}\n` });
    const refused = await cli(['--url', kbs.url, 'attest', '--rcar-attempts', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/certificate/i);
  });
});
