/**
 * Invariant: the docker-compose/Helm topology works across three processes — KBS
 * (`[attestation_service] type = "coco_as_grpc"`) → AS gRPC (`rvps_config.type = "GrpcRemote"`) →
 * RVPS gRPC (upstream trustee's `docker-compose.yml` topology;
 * `attestation-service/src/rvps/grpc.rs`). Driven by the kbs-client CLI: the operator's reference
 * values travel KBS admin API → AS → RVPS; sample evidence is affirming only once they are there,
 * and a policy requiring "affirming" releases the secret only then. Start order does not matter: a
 * KBS whose AS does not answer yet starts, reports not ready (`/readyz` 503 naming the AS,
 * `/healthz` 200), answers 503 ServiceUnavailable to a guest, and serves once the AS starts,
 * without a restart.
 */
import { createServer, type AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli, type CliResult } from './harness/cli.ts';
import { certChainTrust, kbsConfigToml } from './harness/configs.ts';
import { describeResponse } from './harness/errors.ts';
import { startAs, startKbs, startRvps, type AsProcess, type KbsProcess, type RvpsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt } from './independent/guest.ts';
import { httpRequest, jsonBody } from './independent/http.ts';
import { mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey, teeKeyPem } from './independent/teeKey.ts';

const SECRET = Buffer.from('secret behind three processes');
const RESOURCE = 'default/key/microservices';

function expectOk(result: CliResult): string {
  expect(result.code, describeCli(result)).toBe(0);
  return result.stdout;
}

function cpu0Status(token: string): unknown {
  return (decodeJwt(token).payload.submods as Record<string, Record<string, unknown>>).cpu0?.['ear.status'];
}

describe.skipIf(!capabilities.kbs || !capabilities.cli || !capabilities.rvps || !capabilities.as)('KBS (coco_as_grpc) → AS gRPC (GrpcRemote) → RVPS gRPC, three processes', () => {
  let dir: string;
  let rvps: RvpsProcess;
  let as: AsProcess;
  let kbs: KbsProcess;
  let cli: (args: readonly string[]) => Promise<CliResult>;
  let config: (args: readonly string[]) => Promise<CliResult>;
  let teeKeyFile: string;
  let admin: ReturnType<typeof writeAdminKeys>;
  let chain: Awaited<ReturnType<typeof writeSignerChain>>;

  beforeAll(async () => {
    dir = makeTempDir();
    admin = writeAdminKeys(dir);
    chain = await writeSignerChain(dir);
    rvps = await startRvps({ storage: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'rvps.sqlite') } } } }, { dir });
    as = await startAs(
      {
        rvps_config: { type: 'GrpcRemote', address: `http://${rvps.grpcAddress}` },
        attestation_token_broker: { duration_min: 5, signer: { key_path: chain.keyPath, cert_path: chain.certChainPath } },
      },
      { dir },
    );
    // Upstream's compose `kbs-config.toml` shape: the KBS's `[attestation_service]` is the remote AS.
    const toml = kbsConfigToml({
      adminPublicKeyPath: admin.publicKeyPath,
      storage: { kind: 'Memory' },
      tokenTrust: certChainTrust(chain),
      grpcAttestationService: { asAddr: `http://${as.grpcAddress}`, poolSize: 8 },
      sessionTimeoutMinutes: 1,
    });
    kbs = await startKbs(toml, { dir });
    const cwd = makeTempDir();
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${mintAdminToken(admin.privateKey)}\n`);
    cli = (args) => runCli(['--url', kbs.url, ...args], { cwd });
    config = (args) => cli(['config', '--admin-token-file', tokenFile, ...args]);
    teeKeyFile = join(dir, 'tee.pem');
    writeFileSync(teeKeyFile, teeKeyPem(generateTeeKey('P-256')));
  });

  afterAll(async () => {
    await kbs?.stop();
    await as?.stop();
    await rvps?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('the operator uploads the secret and a resource policy requiring "affirming"', async () => {
    const secretFile = join(dir, 'secret.bin');
    writeFileSync(secretFile, SECRET);
    expectOk(await config(['set-resource', '--path', RESOURCE, '--resource-file', secretFile]));
    const policyFile = join(dir, 'affirming.rego');
    writeFileSync(policyFile, POLICIES.affirming);
    expectOk(await config(['set-resource-policy', '--policy-file', policyFile]));
  });

  it('without reference values the AS does not affirm the evidence and the secret is refused', async () => {
    const token = expectOk(await cli(['attest', '--tee-key-file', teeKeyFile])).trim();
    expect(cpu0Status(token)).not.toBe('affirming');
    const refused = await cli(['get-resource', '--path', RESOURCE, '--tee-key-file', teeKeyFile]);
    expect(refused.code, describeCli(refused)).not.toBe(0);
    expect(refused.stdout.trim()).toBe('');
    expect(refused.stderr).toMatch(/PolicyDeny|denied by policy/i);
  });

  it('reference values registered through the KBS admin API land in the RVPS process (via the AS)', async () => {
    expectOk(await config(['set-sample-reference-value', 'launch_digest', 'abcde']));
    expectOk(await config(['set-sample-reference-value', 'svn', '1']));
    expectOk(await config(['set-sample-reference-value', '--as-integer', '--as-single-value', 'major_version', '1']));
    expectOk(await config(['set-sample-reference-value', '--as-integer', '--as-single-value', 'minimum_minor_version', '4']));
    for (const [name, value] of [['launch_digest', ['abcde']], ['svn', ['1']], ['major_version', 1], ['minimum_minor_version', 4]] as const) {
      const direct = await httpRequest(rvps.restUrl, { method: 'GET', path: `/reference-value/${name}` });
      expect(direct.status, describeResponse(direct)).toBe(200);
      expect(jsonBody(direct)).toEqual(value);
    }
    expect(expectOk(await config(['get-reference-value', '--id', 'launch_digest']))).toContain('abcde');
  });

  it('with them the evidence is affirming and the guest gets the secret; the token is the AS\'s (x5c of its signer)', async () => {
    const stdout = expectOk(await cli(['get-resource', '--path', RESOURCE, '--tee-key-file', teeKeyFile]));
    expect(Buffer.from(stdout.trim(), 'base64')).toEqual(SECRET);
    const token = expectOk(await cli(['attest', '--tee-key-file', teeKeyFile])).trim();
    expect(cpu0Status(token)).toBe('affirming');
    const header = decodeJwt(token).header as { jwk?: { x5c?: unknown[] } };
    expect(header.jwk?.x5c?.length).toBe(2);
  });

  it('an attestation policy set through the KBS governs the AS: a policy that never affirms closes the door again', async () => {
    const policyFile = join(dir, 'never.rego');
    writeFileSync(policyFile, 'package policy\nimport rego.v1\n\ntrust_claims := {"executables": 33, "hardware": 2, "configuration": 2}\n');
    expectOk(await config(['set-attestation-policy', '--policy-file', policyFile]));
    const token = expectOk(await cli(['attest', '--tee-key-file', teeKeyFile])).trim();
    expect(cpu0Status(token)).toBe('warning');
    const refused = await cli(['get-resource', '--path', RESOURCE, '--tee-key-file', teeKeyFile]);
    expect(refused.code, describeCli(refused)).not.toBe(0);
    expect(refused.stdout.trim()).toBe('');
  });

  it('a KBS started before its AS: not ready and 503 meanwhile, ready and serving once the AS starts', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const toml = kbsConfigToml({
      adminPublicKeyPath: admin.publicKeyPath,
      storage: { kind: 'Memory' },
      tokenTrust: certChainTrust(chain),
      grpcAttestationService: { asAddr: `http://127.0.0.1:${port}` },
    });
    const early = await startKbs(toml, { dir, configName: 'early-kbs.toml' });
    let late: AsProcess | undefined;
    try {
      expect((await httpRequest(early.url, { method: 'GET', path: '/healthz' })).status).toBe(200);
      const notReady = await httpRequest(early.url, { method: 'GET', path: '/readyz' });
      expect(notReady.status, describeResponse(notReady)).toBe(503);
      expect(JSON.stringify(jsonBody(notReady))).toContain(`attestation service http://127.0.0.1:${port}`);
      const refused = await runCli(['--url', early.url, 'attest', '--tee-key-file', teeKeyFile], { cwd: dir });
      expect(refused.code, describeCli(refused)).not.toBe(0);
      expect(refused.stderr).toContain('ServiceUnavailable');

      late = await startAs(
        { rvps_config: { type: 'GrpcRemote', address: `http://${rvps.grpcAddress}` }, attestation_token_broker: { duration_min: 5, signer: { key_path: chain.keyPath, cert_path: chain.certChainPath } } },
        { dir, configName: 'late-as.json', grpcPort: port },
      );
      await expect.poll(async () => (await httpRequest(early.url, { method: 'GET', path: '/readyz' })).status, { timeout: 60_000, interval: 250 }).toBe(200);
      const token = expectOk(await runCli(['--url', early.url, 'attest', '--tee-key-file', teeKeyFile], { cwd: dir })).trim();
      expect(decodeJwt(token).payload['iss']).toBeDefined();
    } finally {
      await early.stop();
      await late?.stop();
    }
  }, 180_000);
});
