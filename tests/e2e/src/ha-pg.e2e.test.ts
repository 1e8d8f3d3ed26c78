/**
 * Invariant (issue 9, scale out): an upstream-format kbs-config.toml with `storage_type =
 * "Postgres"` and `session_storage_type = "Redis"` runs three KBS processes on one database as
 * one KBS. A guest whose /auth, /attest and resource GET go to three different replicas gets its
 * secret (independent guest and kbs-client); a nonce is verified once across the replicas (a
 * replay is refused on every replica; of 50 concurrent /attest for one session spread over the
 * three, exactly one is verified); an admin write on one replica is served by the others at once;
 * concurrent admin writes on different replicas lose nothing and tear nothing.
 *
 * Real servers: the shared PostgreSQL (a database of its own per run, dropped after) and Redis
 * (session ids are 128-bit random, so runs cannot collide there; sessions expire by TTL).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probePostgres, probeRedis, TEST_REDIS_URL } from '@trustee/storage/testing/servers.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli } from './harness/cli.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import type { KbsProcess } from './harness/kbsProcess.ts';
import { capabilities } from './harness/paths.ts';
import { startPostgresReplicas, type PostgresReplicas } from './harness/postgresReplicas.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { httpRequest, type HttpResponse } from './independent/http.ts';
import { IndependentOperator, POLICIES } from './independent/operator.ts';
import { generateTeeKey, teeKeyPem } from './independent/teeKey.ts';

const SUITE = 'ha-pg e2e';
const postgres = await probePostgres(SUITE);
const redis = await probeRedis(SUITE);

/** Sum of `kbs_attestation_successes_total` / `kbs_attestation_failures_total` (upstream's names) over the replicas. */
async function attestations(replicas: readonly KbsProcess[], outcome: string): Promise<number> {
  let total = 0;
  for (const replica of replicas) {
    const text = (await httpRequest(replica.url, { method: 'GET', path: '/metrics' })).body.toString('utf8');
    for (const line of text.split('\n')) {
      const name = outcome === 'success' ? 'kbs_attestation_successes_total{' : `kbs_attestation_${outcome}s_total{`;
      if (line.startsWith(name)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** The same guest (key, cookie, challenge) talking to another replica. */
function via(guest: IndependentGuest, replica: KbsProcess): IndependentGuest {
  const other = new IndependentGuest(replica.url, guest.teeKey);
  other.sessionId = guest.sessionId;
  other.challenge = guest.challenge;
  other.token = guest.token;
  return other;
}

describe.skipIf(!capabilities.kbs || !capabilities.cli || !postgres.available || !redis.available)('three KBS replicas on PostgreSQL with Redis sessions', () => {
  let dir: string;
  let cluster: PostgresReplicas | undefined;
  let replicas: KbsProcess[] = [];
  let operators: IndependentOperator[];
  let adminTokenFile: string;

  beforeAll(async () => {
    dir = makeTempDir();
    cluster = await startPostgresReplicas(dir, { label: 'trustee_ha_e2e', names: ['a', 'b', 'c'], kbs: { redisSessions: { url: TEST_REDIS_URL } } });
    const token = cluster.adminToken;
    replicas = [...cluster.replicas];
    operators = replicas.map((replica) => new IndependentOperator(replica.url, token));
    adminTokenFile = join(dir, 'admin-token');
    writeFileSync(adminTokenFile, `${token}\n`);
  }, 180_000);

  afterAll(async () => {
    expect(await cluster?.stop()).toEqual(replicas.map(() => 0));
    if (dir !== undefined) removeTempDir(dir);
  }, 60_000);

  const replica = (index: number): KbsProcess => {
    const found = replicas[index % replicas.length];
    if (found === undefined) throw new Error('no replica');
    return found;
  };
  const operator = (index: number): IndependentOperator => {
    const found = operators[index % operators.length];
    if (found === undefined) throw new Error('no operator');
    return found;
  };

  it('all replicas are ready: /readyz names the store and the session store', async () => {
    for (const kbs of replicas) {
      const ready = await httpRequest(kbs.url, { method: 'GET', path: '/readyz' });
      expect(ready.status, describeResponse(ready)).toBe(200);
      const names = (JSON.parse(ready.body.toString('utf8')) as { dependencies: Array<{ name: string }> }).dependencies.map((dependency) => dependency.name);
      expect(names).toEqual(expect.arrayContaining(['storage', 'session storage']));
    }
  });

  it('auth on A, attest on B, resource on C: the guest gets its secret; an admin write on one is served by the others at once', async () => {
    expect((await operator(0).setResource('default/ha/secret', Buffer.from('v1'))).status).toBe(200);
    expect((await operator(1).setResourcePolicy(POLICIES.allowAll)).status).toBe(200);

    const onA = new IndependentGuest(replica(0).url, generateTeeKey('P-256'));
    expect((await onA.auth()).status).toBe(200);
    const onB = via(onA, replica(1));
    const attest = await onB.attest();
    expect(attest.status, describeResponse(attest)).toBe(200);
    const onC = via(onB, replica(2));
    expect(onC.decrypt(await onC.getResource('default/ha/secret')).plaintext.toString()).toBe('v1');

    // Written on C, read at once on A and B; a deny policy set on A refuses at once on B and C.
    expect((await operator(2).setResource('default/ha/secret', Buffer.from('v2'))).status).toBe(200);
    for (const index of [0, 1]) expect(via(onC, replica(index)).decrypt(await via(onC, replica(index)).getResource('default/ha/secret')).plaintext.toString()).toBe('v2');
    expect((await operator(0).setResourcePolicy(POLICIES.denyAll)).status).toBe(200);
    for (const index of [1, 2]) expectErrorInformation(await via(onC, replica(index)).getResource('default/ha/secret'), 401, 'PolicyDeny');
    expect((await operator(1).setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
    expect(via(onC, replica(0)).decrypt(await via(onC, replica(0)).getResource('default/ha/secret')).plaintext.toString()).toBe('v2');
  });

  it('kbs-client: the token from one replica opens the resource on another; the operator CLI writes through a third', async () => {
    const cwd = makeTempDir();
    const secretFile = join(cwd, 'secret.bin');
    writeFileSync(secretFile, 'cli over replicas');
    const set = await runCli(['--url', replica(2).url, 'config', '--admin-token-file', adminTokenFile, 'set-resource', '--path', 'default/ha/cli', '--resource-file', secretFile], { cwd });
    expect(set.code, describeCli(set)).toBe(0);
    const teeKeyFile = join(cwd, 'tee.pem');
    writeFileSync(teeKeyFile, teeKeyPem(generateTeeKey('P-256')));
    const attest = await runCli(['--url', replica(0).url, 'attest', '--tee-key-file', teeKeyFile], { cwd });
    expect(attest.code, describeCli(attest)).toBe(0);
    const tokenFile = join(cwd, 'token');
    writeFileSync(tokenFile, attest.stdout.trim());
    const get = await runCli(['--url', replica(1).url, 'get-resource', '--path', 'default/ha/cli', '--attestation-token', tokenFile, '--tee-key-file', teeKeyFile], { cwd });
    expect(get.code, describeCli(get)).toBe(0);
    expect(Buffer.from(get.stdout.trim(), 'base64').toString()).toBe('cli over replicas');
    // The whole RCAR flow of the CLI against each replica.
    for (const index of [0, 1, 2]) {
      const full = await runCli(['--url', replica(index).url, 'get-resource', '--path', 'default/ha/cli', '--tee-key-file', teeKeyFile], { cwd });
      expect(full.code, describeCli(full)).toBe(0);
      expect(Buffer.from(full.stdout.trim(), 'base64').toString()).toBe('cli over replicas');
    }
    removeTempDir(cwd);
  });

  it('a replayed nonce is refused on every replica', async () => {
    // A nonce spent by a failed attempt (evidence bound to other report data) on B ...
    const guest = new IndependentGuest(replica(0).url, generateTeeKey('P-256'));
    await guest.auth();
    const honest = guest.buildAttestation();
    const spoiled = guest.buildAttestation({ reportData: new Uint8Array(48) });
    expectErrorInformation(await via(guest, replica(1)).attest(spoiled), 401, 'AttestationError');
    // ... is refused with honest evidence on every replica, the session is gone everywhere.
    for (const index of [0, 1, 2]) expectErrorInformation(await via(guest, replica(index)).attest(honest), 401, 'AttestationError');

    // Evidence that succeeded once, replayed in a fresh session on each replica: the fresh
    // session's nonce differs, so the old evidence is refused.
    const first = new IndependentGuest(replica(2).url, generateTeeKey('P-256'));
    await first.auth();
    const accepted = first.buildAttestation();
    expect((await first.attest(accepted)).status).toBe(200);
    for (const index of [0, 1, 2]) {
      const attacker = new IndependentGuest(replica(index).url, first.teeKey);
      await attacker.auth();
      expectErrorInformation(await attacker.attest(accepted), 401, 'AttestationError');
    }
    // The attested session itself answers with its one token on every replica, never a second verification.
    const verified = await attestations(replicas, 'success');
    for (const index of [0, 1, 2]) {
      const again = await via(first, replica(index)).attest(accepted);
      expect(again.status).toBe(200);
      expect(JSON.parse(again.body.toString('utf8'))).toEqual({ token: first.token });
    }
    expect(await attestations(replicas, 'success')).toBe(verified);
  });

  it('50 concurrent /attest for one session over 3 replicas: exactly one verification, one token', async () => {
    for (let round = 0; round < 3; round += 1) {
      const guest = new IndependentGuest(replica(round).url, generateTeeKey('P-256'));
      await guest.auth();
      const body = guest.buildAttestation();
      const before = await attestations(replicas, 'success');
      const responses: HttpResponse[] = await Promise.all(Array.from({ length: 50 }, (_, i) => via(guest, replica(i)).attest(body)));
      const ok = responses.filter((response) => response.status === 200);
      for (const response of responses) if (response.status !== 200) expectErrorInformation(response, 401, 'AttestationError');
      expect(ok.length, responses.map(describeResponse).join('\n')).toBeGreaterThanOrEqual(1);
      // Those that came after the winner read the Attested session and get the winner's token.
      expect(new Set(ok.map((response) => JSON.parse(response.body.toString('utf8')).token as string)).size).toBe(1);
      expect(await attestations(replicas, 'success')).toBe(before + 1);
    }
  });

  it('concurrent admin writes on different replicas: none lost, none torn', async () => {
    // 60 distinct resources written at once, 20 through each replica: all present everywhere.
    const writes = await Promise.all(Array.from({ length: 60 }, (_, i) => operator(i).setResource(`default/ha-many/r${i}`, Buffer.from(`value-${i}`))));
    for (const response of writes) expect(response.status, describeResponse(response)).toBe(200);
    // One resource written 30 times at once with distinct 256 KiB values: the survivor is exactly one of them.
    const values = Array.from({ length: 30 }, (_, i) => Buffer.alloc(256 * 1024, i + 1));
    const digests = new Set(values.map((value) => createHash('sha256').update(value).digest('hex')));
    const racing = await Promise.all(values.map((value, i) => operator(i).setResource('default/ha-race/one', value)));
    for (const response of racing) expect(response.status, describeResponse(response)).toBe(200);

    const guest = new IndependentGuest(replica(0).url, generateTeeKey('P-256'));
    await guest.rcar();
    const seen = new Set<string>();
    for (const index of [0, 1, 2]) {
      const reader = via(guest, replica(index));
      for (let i = 0; i < 60; i += 1) expect(reader.decrypt(await reader.getResource(`default/ha-many/r${i}`)).plaintext.toString(), `r${i} on replica ${index}`).toBe(`value-${i}`);
      const survivor = reader.decrypt(await reader.getResource('default/ha-race/one')).plaintext;
      const digest = createHash('sha256').update(survivor).digest('hex');
      expect(survivor.length).toBe(256 * 1024);
      expect(digests.has(digest), 'the stored value is one of the written ones, whole').toBe(true);
      seen.add(digest);
    }
    expect(seen.size, 'every replica serves the same survivor').toBe(1);
  });
});
