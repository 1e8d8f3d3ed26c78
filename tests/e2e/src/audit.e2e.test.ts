/**
 * Invariant (issue 15, audit trail): two KBS processes on one PostgreSQL database append one
 * hash chain — every release, deny, attestation outcome and admin change, from both replicas,
 * with no fork and no gap; `pnpm kbs audit verify` says intact, and names the first record after
 * a single record is edited, deleted or two are swapped in the database; `audit export --since`
 * writes JSON lines; no record holds a secret value or a token.
 *
 * Real server: the shared PostgreSQL, a database of its own per run, dropped after.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probePostgres, type TestDatabase } from '@trustee/storage/testing/servers.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import type { KbsProcess } from './harness/kbsProcess.ts';
import { startPostgresReplicas, type PostgresReplicas } from './harness/postgresReplicas.ts';
import { capabilities, KBS_MAIN, REPO_ROOT, TSX_BIN } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { IndependentOperator, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const SUITE = 'audit e2e';
const postgres = await probePostgres(SUITE);

interface AuditCliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function auditCli(args: readonly string[]): Promise<AuditCliResult> {
  return new Promise((resolve) => {
    execFile(TSX_BIN, [KBS_MAIN, 'audit', ...args], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const SECRET = 'audit-e2e-secret-value-7f3a';

describe.skipIf(!capabilities.kbs || !postgres.available)('audit trail: two KBS replicas on one PostgreSQL database', () => {
  let dir: string;
  let cluster: PostgresReplicas | undefined;
  let database: TestDatabase;
  let replicas: KbsProcess[] = [];
  let operators: IndependentOperator[];
  let configPath: string;
  let adminToken: string;

  beforeAll(async () => {
    dir = makeTempDir();
    cluster = await startPostgresReplicas(dir, { label: 'trustee_audit_e2e', names: ['a', 'b'], perReplica: (name) => `\n[audit]\nreplica_id = "replica-${name}"\n` });
    ({ database, adminToken } = cluster);
    replicas = [...cluster.replicas];
    configPath = join(dir, 'kbs-a.toml');
    operators = replicas.map((replica) => new IndependentOperator(replica.url, adminToken));
  }, 180_000);

  afterAll(async () => {
    expect(await cluster?.stop()).toEqual(replicas.map(() => 0));
    if (dir !== undefined) removeTempDir(dir);
  }, 60_000);

  const rows = async (): Promise<Array<{ key: string; value: Buffer }>> => (await database.query<{ key: string; value: Buffer }>("SELECT key, value FROM kbs_audit WHERE key LIKE 'record/%' ORDER BY key")).rows;

  it('releases, denials, attestations and admin changes on both replicas form one intact chain', async () => {
    const [a, b] = replicas as [KbsProcess, KbsProcess];
    expect((await operators[0]?.setResource('default/audit/key', Buffer.from(SECRET)))?.status).toBe(200);
    expect((await operators[1]?.setResourcePolicy(POLICIES.allowAll))?.status).toBe(200);
    // Guests on both replicas at once: 4 flows each (auth, attest, release).
    await Promise.all(
      [a, b, a, b, a, b, a, b].map(async (replica) => {
        const guest = new IndependentGuest(replica.url, generateTeeKey('P-256'));
        expect((await guest.auth()).status).toBe(200);
        const attest = await guest.attest();
        expect(attest.status, describeResponse(attest)).toBe(200);
        expect(guest.decrypt(await guest.getResource('default/audit/key')).plaintext.toString()).toBe(SECRET);
      }),
    );
    expect((await operators[0]?.setResourcePolicy(POLICIES.denyAll))?.status).toBe(200);
    const denied = new IndependentGuest(b.url, generateTeeKey('P-256'));
    await denied.auth();
    await denied.attest();
    expectErrorInformation(await denied.getResource('default/audit/key'), 401, 'PolicyDeny');
    // An admin call without a token: refused, recorded without identity.
    expect((await new IndependentOperator(a.url, undefined).setResourcePolicy(POLICIES.allowAll)).status).toBe(401);

    // 3 admin changes + 1 refused + 9 attestations + 8 releases + 1 deny = 22 records (written after each answer).
    const expected = 22;
    const deadline = Date.now() + 20_000;
    while ((await rows()).length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const records = (await rows()).map((row) => JSON.parse(row.value.toString('utf8')) as Record<string, unknown>);
    expect(records.length).toBe(expected);
    expect(records.map((record) => record['seq'])).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
    expect(new Set(records.map((record) => record['replica']))).toEqual(new Set(['replica-a', 'replica-b']));
    const count = (kind: string, outcome?: string): number => records.filter((record) => record['kind'] === kind && (outcome === undefined || record['outcome'] === outcome)).length;
    expect(count('release', 'allow')).toBe(8);
    expect(count('deny', 'deny')).toBe(1);
    expect(count('attestation', 'success')).toBe(9);
    expect(count('admin', 'ok')).toBe(3);
    expect(count('admin', 'refused')).toBe(1);
    const release = records.find((record) => record['kind'] === 'release') ?? {};
    expect(release).toMatchObject({ decision: expect.stringMatching(/^d-/), resource: 'resource/default/audit/key', tee: 'sample', policies: [{ id: 'resource-policy', hash: expect.stringMatching(/^[0-9a-f]{64}$/) }] });
    const attestation = records.find((record) => record['kind'] === 'attestation') ?? {};
    expect(attestation).toMatchObject({ tee: 'sample', evidence: expect.stringMatching(/^[0-9a-f]{64}$/), policies: [{ id: 'default_cpu', hash: expect.stringMatching(/^[0-9a-f]{64}$/) }] });
    const adminChange = records.find((record) => record['kind'] === 'admin' && record['outcome'] === 'ok') ?? {};
    expect(adminChange).toMatchObject({ admin: { role: 'admin' } });
    // Never a secret, a token or a key.
    const everything = (await database.query<{ value: Buffer }>('SELECT value FROM kbs_audit')).rows.map((row) => row.value.toString('utf8')).join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(Buffer.from(SECRET).toString('base64'));
    expect(everything).not.toContain(adminToken);
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./);

    const verify = await auditCli(['verify', '--config-file', configPath]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`audit trail intact: ${expected} records (records 1..${expected})`);
  }, 120_000);

  it('audit export --since writes JSON lines from that time on', async () => {
    const all = (await rows()).map((row) => JSON.parse(row.value.toString('utf8')) as { time: string; seq: number });
    const middle = all[10];
    if (middle === undefined) throw new Error('too few records');
    const output = join(dir, 'export.jsonl');
    const exported = await auditCli(['export', '--config-file', configPath, '--since', middle.time, '--output', output]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    const expected = all.filter((record) => Date.parse(record.time) >= Date.parse(middle.time));
    expect(lines.map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual(expected.map((record) => record.seq));
    expect(exported.stderr).toContain(`exported ${expected.length} records`);
  }, 60_000);

  it('verify names a single edited, deleted or reordered record', async () => {
    const original = await rows();
    const at = (seq: number): Buffer => {
      const row = original[seq - 1];
      if (row === undefined) throw new Error(`no record ${seq}`);
      return row.value;
    };
    const key = (seq: number): string => `record/${String(seq).padStart(15, '0')}`;
    const put = (seq: number, value: Buffer): Promise<unknown> => database.query('UPDATE kbs_audit SET value = $1 WHERE key = $2', [value, key(seq)]);

    // Edited: a deny turned into an allow.
    const edited = { ...(JSON.parse(at(7).toString('utf8')) as Record<string, unknown>), outcome: 'allow-edited' };
    await put(7, Buffer.from(JSON.stringify(edited)));
    let result = await auditCli(['verify', '--config-file', configPath]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('BROKEN at record 7: record 7 was edited');
    await put(7, at(7));

    // Deleted.
    await database.query('DELETE FROM kbs_audit WHERE key = $1', [key(12)]);
    result = await auditCli(['verify', '--config-file', configPath]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('BROKEN at record 12: record 12 is missing');
    await database.query('INSERT INTO kbs_audit (key, value) VALUES ($1, $2)', [key(12), at(12)]);

    // Reordered.
    await put(15, at(16));
    await put(16, at(15));
    result = await auditCli(['verify', '--config-file', configPath, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, problem: { seq: 15, problem: expect.stringContaining('reordered') } });
    await put(15, at(15));
    await put(16, at(16));

    result = await auditCli(['verify', '--config-file', configPath]);
    expect(result.code, result.stdout).toBe(0);
  }, 120_000);

  it('prune keeps the newest records behind a signed checkpoint that verify checks', async () => {
    const prune = await auditCli(['prune', '--config-file', configPath, '--keep', '5']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/pruned 17 records; checkpoint at 18/);
    const verify = await auditCli(['verify', '--config-file', configPath]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/intact: 5 records \(records 18\.\.22\), after the checkpoint of .* \(records before 18 pruned; signer [0-9a-f]{16}\)/);
    // The replicas keep appending onto the checkpointed chain.
    expect((await operators[1]?.setResourcePolicy(POLICIES.allowAll))?.status).toBe(200);
    const deadline = Date.now() + 10_000;
    while ((await rows()).length < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await auditCli(['verify', '--config-file', configPath]);
    expect(after.stdout).toContain('intact: 6 records (records 18..23)');
    writeFileSync(join(dir, 'unused'), '');
  }, 120_000);
});
