/**
 * Invariant: a KBS whose builtin AS uses a remote RVPS (`[attestation_service.rvps_config] type =
 * "GrpcRemote"`, the topology of upstream trustee `docker-compose.yml` and its Helm chart) stores
 * reference values registered through the KBS admin API in the RVPS process, and appraises evidence
 * against them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kbsConfigToml } from './harness/configs.ts';
import { describeResponse } from './harness/errors.ts';
import { startKbs, startRvps, type KbsProcess, type RvpsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt, IndependentGuest } from './independent/guest.ts';
import { httpRequest, jsonBody } from './independent/http.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

describe.skipIf(!capabilities.kbs || !capabilities.rvps || !capabilities.kbsRemoteRvps)('KBS with a remote RVPS process (GrpcRemote)', () => {
  let dir: string;
  let rvps: RvpsProcess;
  let kbs: KbsProcess;
  let operator: IndependentOperator;

  beforeAll(async () => {
    dir = makeTempDir();
    rvps = await startRvps({ storage: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'rvps.sqlite') } } } }, { dir });
    const admin = writeAdminKeys(dir);
    const toml = kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'Memory' }, tokenTrust: { kind: 'insecure-header-jwk' } }).replace(
      'type = "BuiltIn"',
      `type = "GrpcRemote"\naddress = ${JSON.stringify(`http://${rvps.grpcAddress}`)}`,
    );
    kbs = await startKbs(toml, { dir });
    operator = new IndependentOperator(kbs.url, mintAdminToken(admin.privateKey));
  });

  afterAll(async () => {
    await kbs?.stop();
    await rvps?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('registers reference values through the KBS into the RVPS process', async () => {
    for (const [name, value] of [['launch_digest', ['abcde']], ['svn', ['1']], ['major_version', 1], ['minimum_minor_version', 4]] as const) {
      const response = await operator.registerSampleReferenceValue(name, value);
      expect(response.status, describeResponse(response)).toBe(200);
      const direct = await httpRequest(rvps.restUrl, { method: 'GET', path: `/reference-value/${name}` });
      expect(direct.status, describeResponse(direct)).toBe(200);
      expect(jsonBody(direct)).toEqual(value);
      expect(jsonBody(await operator.getReferenceValue(name))).toEqual(value);
    }
  });

  it('appraises sample evidence against the remote reference values (affirming)', async () => {
    expect((await operator.setResource('default/key/rv', Buffer.from('rv'))).status).toBe(200);
    expect((await operator.setResourcePolicy(POLICIES.affirming)).status).toBe(200);
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const token = await guest.rcar();
    const cpu0 = (decodeJwt(token).payload.submods as Record<string, Record<string, unknown>>).cpu0;
    expect(cpu0?.['ear.status']).toBe('affirming');
    expect(guest.decrypt(await guest.getResource('default/key/rv')).plaintext.toString()).toBe('rv');
  });
});
