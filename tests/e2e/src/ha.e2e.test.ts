/**
 * Invariant (user-needs theme 1, HA): two KBS processes sharing one SQLite store behave as one
 * KBS. A session opened on one replica is attested on the other, resources and policies
 * written through one are served by the other, and a challenge is verified at most once even
 * when both replicas receive the same /attest at the same moment.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certChainTrust, kbsConfigToml } from './harness/configs.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { jsonBody } from './independent/http.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const RESOURCE = 'default/key/ha';

describe.skipIf(!capabilities.kbs || !capabilities.sqliteStorage)('two KBS replicas on one SQLite store', () => {
  let dir: string;
  let a: KbsProcess;
  let b: KbsProcess;
  let opA: IndependentOperator;
  let opB: IndependentOperator;

  beforeAll(async () => {
    dir = makeTempDir();
    const admin = writeAdminKeys(dir);
    const chain = await writeSignerChain(dir);
    const config = (workerCount?: number): string =>
      kbsConfigToml({
        adminPublicKeyPath: admin.publicKeyPath,
        storage: { kind: 'Sqlite', path: join(dir, 'shared.sqlite') },
        tokenTrust: certChainTrust(chain),
        ...(workerCount === undefined ? {} : { workerCount }),
      });
    // Start one after the other: the second start also checks that an existing store is reused.
    // Replica B itself runs two node:cluster workers on one socket, so requests to B alone
    // already land on different processes.
    a = await startKbs(config(), { dir, configName: 'a.toml', startTimeoutMs: 120_000 });
    b = await startKbs(config(2), { dir, configName: 'b.toml', startTimeoutMs: 120_000 });
    const token = mintAdminToken(admin.privateKey);
    opA = new IndependentOperator(a.url, token);
    opB = new IndependentOperator(b.url, token);
  }, 300_000);

  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    // SIGTERM is a clean shutdown for a single process and for a cluster primary with workers.
    expect(codes).toEqual([0, 0]);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('serves on B what the operator wrote through A, and the other way round', async () => {
    expect((await opA.setResource(RESOURCE, Buffer.from('v1'))).status).toBe(200);
    expect((await opB.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
    expect(jsonBody(await opA.getResourcePolicy())).toEqual(['resource-policy']);
  });

  it('attests on B a session opened on A, then alternates resource GETs between replicas', async () => {
    const onA = new IndependentGuest(a.url, generateTeeKey('P-256'));
    expect((await onA.auth()).status).toBe(200);
    const onB = new IndependentGuest(b.url, onA.teeKey);
    onB.sessionId = onA.sessionId;
    onB.challenge = onA.challenge;
    const attest = await onB.attest();
    expect(attest.status, describeResponse(attest)).toBe(200);
    onA.sessionId = onB.sessionId;

    for (const [i, replica] of [onA, onB, onA, onB].entries()) {
      const response = await replica.getResource(RESOURCE);
      expect(replica.decrypt(response).plaintext.toString(), `GET #${i}`).toBe('v1');
    }
    // A token issued by B is a valid Bearer on A (shared signer, shared trust anchors).
    expect(onA.decrypt(await onA.getResource(RESOURCE, { bearer: onB.token ?? '', cookie: null })).plaintext.toString()).toBe('v1');
  });

  it('sees an update made on one replica at once on the other', async () => {
    const guest = new IndependentGuest(a.url, generateTeeKey('P-521'));
    await guest.rcar();
    expect((await opB.setResource(RESOURCE, Buffer.from('v2'))).status).toBe(200);
    expect(guest.decrypt(await guest.getResource(RESOURCE)).plaintext.toString()).toBe('v2');
    expect((await opA.setResourcePolicy(POLICIES.denyAll)).status).toBe(200);
    const onB = new IndependentGuest(b.url, guest.teeKey);
    onB.sessionId = guest.sessionId;
    expectErrorInformation(await onB.getResource(RESOURCE), 401, 'PolicyDeny');
    expect((await opB.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
    expect(onB.decrypt(await onB.getResource(RESOURCE)).plaintext.toString()).toBe('v2');
  });

  it('verifies a challenge once when both replicas receive the same /attest concurrently', async () => {
    for (let round = 0; round < 5; round += 1) {
      const onA = new IndependentGuest(a.url, generateTeeKey('P-256'));
      await onA.auth();
      const onB = new IndependentGuest(b.url, onA.teeKey);
      onB.sessionId = onA.sessionId;
      onB.challenge = onA.challenge;
      const body = onA.buildAttestation();
      const [ra, rb] = await Promise.all([onA.attest(body), onB.attest(body)]);
      const ok = [ra, rb].filter((r) => r.status === 200);
      expect(ok.length, `${describeResponse(ra)}\n${describeResponse(rb)}`).toBeGreaterThanOrEqual(1);
      for (const r of [ra, rb]) if (r.status !== 200) expectErrorInformation(r, 401, 'AttestationError');
      if (ok.length === 2) expect(onA.token).toBe(onB.token);
    }
  });

  it('keeps sessions consistent across the cluster workers of one replica', async () => {
    const guests = Array.from({ length: 12 }, () => new IndependentGuest(b.url, generateTeeKey('P-256')));
    await Promise.all(guests.map((g) => g.rcar()));
    const responses = await Promise.all(guests.flatMap((g) => [g.getResource(RESOURCE), g.getResource(RESOURCE)]));
    responses.forEach((response, i) => expect(guests[Math.floor(i / 2)]?.decrypt(response).plaintext.toString()).toBe('v2'));
  });
});
