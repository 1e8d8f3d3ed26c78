/**
 * Invariants (issue 14) against a real KBS process and the kbs-client CLI: two teams share one
 * KBS; each team's admin (a regex_acl role) changes only its own scoped policy and resources; a
 * guest of team A (init-data `team = "a"`) gets A's secret and not B's, and the deny it sees is
 * upstream's PolicyDeny byte for byte; the decision id the KBS logs for that deny is explained
 * through the API and the CLI (failing rule body, expression and compared value, no secret);
 * uploads that could never work are refused; a dry run names the deny a candidate would lift.
 */
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli, type CliResult } from './harness/cli.ts';
import { certChainKbsConfig } from './harness/certChainKbs.ts';
import { sqliteStorage } from './harness/configs.ts';
import { describeResponse } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const SECRET_A = 'team A secret 7f3a';
const SECRET_B = 'team B secret 91c2';
const POLICY_DENY = JSON.stringify({ type: 'https://github.com/confidential-containers/kbs/errors/PolicyDeny', detail: 'Access denied by policy' });

/** A team's scoped policy: the guest's init-data must name the team. */
function teamPolicy(team: string): string {
  return [
    'package policy',
    '',
    'default allow := false',
    '',
    'allow if {',
    `  input.submods.cpu0["ear.veraison.annotated-evidence"].init_data_claims.team == "${team}"`,
    '}',
    '',
  ].join('\n');
}

function initData(team: string): string {
  return `version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"team" = "${team}"\n`;
}

function teamAcl(team: string): string {
  return `^/kbs/v0/(resource/team-${team}/[^/]+/[^/]+|resource-policy/(scope|explain|dry-run|decisions/for)/team-${team}(/.*)?)$`;
}

function expectOk(result: CliResult): string {
  expect(result.code, describeCli(result)).toBe(0);
  return result.stdout;
}

describe.skipIf(!capabilities.kbs || !capabilities.cli)('scoped resource policies, decision ids and explain (KBS + kbs-client processes)', () => {
  let dir: string;
  let kbs: KbsProcess;
  let operator: IndependentOperator;
  const tokenFiles: Record<'admin' | 'a' | 'b', string> = { admin: '', a: '', b: '' };

  const config = (who: keyof typeof tokenFiles, args: readonly string[]): Promise<CliResult> =>
    runCli(['--url', kbs.url, 'config', '--admin-token-file', tokenFiles[who], ...args], { cwd: dir });
  const guest = (args: readonly string[]): Promise<CliResult> => runCli(['--url', kbs.url, ...args], { cwd: dir });
  const policyFile = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    dir = makeTempDir();
    // Attestation policy selection by id (upstream PR #1521): `gpu` for any TEE, `tdxonly` for TDX only.
    const policyIdMap = '\n[attestation_service.policy_id_map]\ngpu = ["gpu"]\ntdxonly = { policies = ["gpu"], tees = ["tdx"] }\n';
    const { toml, admin, adminToken } = await certChainKbsConfig(dir, sqliteStorage(dir), {
      extraAcls: [
        { role: 'team-a', allowedEndpoints: teamAcl('a') },
        { role: 'team-b', allowedEndpoints: teamAcl('b') },
      ],
    });
    kbs = await startKbs(toml + policyIdMap, { dir, startTimeoutMs: 90_000 });
    operator = new IndependentOperator(kbs.url, adminToken);
    for (const [who, role] of [['admin', 'admin'], ['a', 'team-a'], ['b', 'team-b']] as const) {
      tokenFiles[who] = join(dir, `${who}.token`);
      writeFileSync(tokenFiles[who], mintAdminToken(admin.privateKey, { claims: { role } }));
    }
    // The global policy stays first: here it lets any attested guest through to the scoped ones.
    const global = await operator.setResourcePolicy(POLICIES.allowAll);
    expect(global.status, describeResponse(global)).toBe(200);
  }, 180_000);

  afterAll(async () => {
    await kbs?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('each team admin manages only its own scope and secrets', async () => {
    expectOk(await config('a', ['set-resource', '--path', 'team-a/key/one', '--resource-file', policyFile('a.secret', SECRET_A)]));
    expectOk(await config('b', ['set-resource', '--path', 'team-b/key/one', '--resource-file', policyFile('b.secret', SECRET_B)]));
    expectOk(await config('a', ['set-scoped-policy', '--scope', 'team-a/*', '--policy-file', policyFile('a.rego', teamPolicy('a'))]));
    expectOk(await config('b', ['set-scoped-policy', '--scope', 'team-b/*', '--policy-file', policyFile('b.rego', teamPolicy('b'))]));

    // Team A's admin cannot touch team B: scoped policy, its deletion, its secrets, the global policy.
    for (const args of [
      ['set-scoped-policy', '--scope', 'team-b', '--allow-all'],
      ['delete-scoped-policy', '--scope', 'team-b'],
      ['set-resource', '--path', 'team-b/key/one', '--resource-file', policyFile('evil', 'overwritten')],
      ['set-resource-policy', '--allow-all'],
      ['list-scoped-policies'],
    ]) {
      const refused = await config('a', args);
      expect(refused.code, describeCli(refused)).not.toBe(0);
      expect(refused.stderr).toMatch(/AdminAuth(Access|Initialization)/);
    }
    expect(JSON.parse(expectOk(await config('admin', ['list-scoped-policies'])))).toEqual(['team-a', 'team-b']);
    expect(expectOk(await config('a', ['get-scoped-policy', '--scope', 'team-a']))).toBe(teamPolicy('a'));
  }, 120_000);

  it("a guest of team A gets A's secret, not B's; the deny is upstream's PolicyDeny and is explained by its decision id", async () => {
    const got = expectOk(await guest(['get-resource', '--path', 'team-a/key/one', initData('a')]));
    expect(Buffer.from(got.trim(), 'base64').toString('utf8')).toBe(SECRET_A);
    const refused = await guest(['get-resource', '--path', 'team-b/key/one', initData('a')]);
    expect(refused.code, describeCli(refused)).not.toBe(0);
    expect(refused.stderr).toContain('PolicyDeny');

    // Byte for byte on the wire, with an independent guest.
    const independent = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await independent.auth();
    const attested = await independent.attest(independent.buildAttestation({ initData: { format: 'toml', body: initData('a') } }));
    expect(attested.status, describeResponse(attested)).toBe(200);
    const denied = await independent.getResource('team-b/key/one');
    expect(denied.status).toBe(401);
    expect(denied.body.toString('utf8')).toBe(POLICY_DENY);

    // The KBS log names the decision; the guest never saw it.
    const line = kbs.output().split('\n').filter((l) => l.includes('"code":"PolicyDeny"')).at(-1) ?? '';
    const id = /decision (d-[0-9a-z]+-[0-9a-f]{12})/.exec(line)?.[1];
    expect(id, line).toBeDefined();
    expect(denied.body.toString('utf8')).not.toContain(id ?? 'x');

    // API: team B's admin explains the deny on its path.
    const teamB = new IndependentOperator(kbs.url, readFileSync(tokenFiles.b, 'utf8').trim());
    const api = await teamB.postJson('/kbs/v0/resource-policy/explain/team-b/key/one', { decision_id: id });
    expect(api.status, describeResponse(api)).toBe(200);
    const report = JSON.parse(api.body.toString('utf8')) as {
      allowed: boolean;
      policies: Array<{ policy: string; allowed: boolean; explanation?: { bodies: Array<{ failed?: { expression: string; values: Array<{ value?: unknown }> } }> } }>;
    };
    expect(report.allowed).toBe(false);
    expect(report.policies.map((p) => [p.policy, p.allowed])).toEqual([
      ['resource-policy', true],
      ['scope:team-b', false],
    ]);
    const failed = report.policies[1]?.explanation?.bodies[0]?.failed;
    expect(failed?.expression).toBe('input.submods.cpu0["ear.veraison.annotated-evidence"].init_data_claims.team == "b"');
    expect(failed?.values[0]?.value).toBe('a');
    expect(api.body.toString('utf8')).not.toContain(SECRET_B);
    // Team A's admin may not explain team B's paths.
    const foreign = await new IndependentOperator(kbs.url, readFileSync(tokenFiles.a, 'utf8').trim()).postJson('/kbs/v0/resource-policy/explain/team-b/key/one', { decision_id: id });
    expect(foreign.status).toBe(401);

    // Team B finds the deny among its own decisions.
    const own = JSON.parse(expectOk(await config('b', ['list-decisions', '--scope', 'team-b']))) as Array<{ id: string; allowed: boolean }>;
    expect(own.find((d) => d.id === id)?.allowed).toBe(false);

    // CLI: the same explanation, readable.
    const text = expectOk(await config('b', ['explain', '--path', 'team-b/key/one', '--decision-id', id ?? '']));
    expect(text).toContain(`resource/team-b/key/one: DENIED (decision ${id})`);
    expect(text).toContain('policy scope:team-b: deny');
    expect(text).toContain('failing expression: input.submods.cpu0["ear.veraison.annotated-evidence"].init_data_claims.team == "b"');
    expect(text).toMatch(/init_data_claims\.team = "a"/);
    expect(text).not.toContain(SECRET_B);

    // The same through the guest's own token, and through a claims document.
    const guestToken = expectOk(await guest(['attest', initData('a')])).trim();
    const byToken = expectOk(await config('b', ['explain', '--path', 'team-b/key/one', '--attestation-token', policyFile('guest.token', guestToken)]));
    expect(byToken).toContain('resource/team-b/key/one: DENIED');
    expect(byToken).toMatch(/init_data_claims\.team = "a"/);
    const byClaims = expectOk(await config('b', ['explain', '--path', 'team-b/key/one', '--json', '--claims-file', policyFile('claims.json', JSON.stringify({ submods: { cpu0: { 'ear.veraison.annotated-evidence': { init_data_claims: { team: 'b' } } } } }))]));
    expect((JSON.parse(byClaims) as { allowed: boolean }).allowed).toBe(true);

    // A dry run of B's candidate that admits team "a" shows this deny turning into a release.
    const dry = expectOk(await config('b', ['set-scoped-policy', '--scope', 'team-b', '--policy-file', policyFile('b2.rego', teamPolicy('a')), '--dry-run']));
    expect(dry).toMatch(new RegExp(`${id ?? 'x'}\\s+resource/team-b/key/one: deny -> allow`));
    // …and it stored nothing.
    expect(expectOk(await config('b', ['get-scoped-policy', '--scope', 'team-b']))).toBe(teamPolicy('b'));
  }, 180_000);

  it('a guest that asks for attestation policy `gpu` is appraised with it; an id it may not use is refused clearly', async () => {
    const gpuPolicy = policyFile('gpu_cpu.rego', [
      'package policy',
      'import rego.v1',
      '',
      'default executables := 2',
      'default hardware := 2',
      'default configuration := 2',
      '',
      'trust_claims := {"executables": executables, "hardware": hardware, "configuration": configuration}',
      '',
    ].join('\n'));
    expectOk(await config('admin', ['set-attestation-policy', '--id', 'gpu_cpu', '--policy-file', gpuPolicy]));
    const token = expectOk(await guest(['attest', '--attestation-policy-selector', 'gpu'])).trim();
    const cpu0 = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { submods: { cpu0: Record<string, unknown> } }).submods.cpu0;
    expect(cpu0['ear.appraisal-policy-id']).toBe('gpu');
    expect(cpu0['ear.trustworthiness-vector']).toMatchObject({ executables: 2 });
    const plain = expectOk(await guest(['attest'])).trim();
    expect((JSON.parse(Buffer.from(plain.split('.')[1] ?? '', 'base64url').toString('utf8')) as { submods: { cpu0: Record<string, unknown> } }).submods.cpu0['ear.appraisal-policy-id']).toBe('default');

    for (const [id, reason] of <Array<[string, string]>>[
      ['nosuch', 'attestation policy id "nosuch" is not declared by this KBS'],
      ['tdxonly', 'attestation policy id "tdxonly" is not allowed for tee "sample" (allowed: tdx)'],
    ]) {
      const refused = await guest(['attest', '--rcar-attempts', '1', '--attestation-policy-selector', id]);
      expect(refused.code, describeCli(refused)).not.toBe(0);
      expect(refused.stderr).toContain('AttestationError');
      expect(refused.stderr).toContain(reason);
    }
  }, 120_000);

  it('policy uploads that could never work are refused and the stored policy stays', async () => {
    const network = policyFile('net.rego', 'package policy\n\nallow if http.send({"method": "get", "url": "http://127.0.0.1:1"}).status_code == 200\n');
    for (const args of [
      ['set-scoped-policy', '--scope', 'team-a', '--policy-file', network],
      ['set-scoped-policy', '--scope', 'team-a', '--policy-file', policyFile('bad.rego', 'package policy\nallow if {')],
      ['set-scoped-policy', '--scope', 'team-a', '--policy-file', policyFile('unknown.rego', 'package policy\nallow if crypto.no_such(1)\n')],
    ]) {
      const refused = await config('a', args);
      expect(refused.code, describeCli(refused)).not.toBe(0);
      expect(refused.stderr).toContain('PolicyEngineError');
    }
    expect(expectOk(await config('a', ['get-scoped-policy', '--scope', 'team-a']))).toBe(teamPolicy('a'));
  }, 120_000);
});
