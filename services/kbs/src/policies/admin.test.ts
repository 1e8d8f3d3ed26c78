/**
 * Invariants (in-process KBS, real composition): a denied guest sees upstream's PolicyDeny byte
 * for byte while the log names a decision id; that id, the guest's token or a claims document
 * explain the deny (failing body, expression, values) and never a resource value; scoped
 * policies are managed through the admin API, and a regex_acl confines a team's admin to its
 * own scope (policies and resources); uploads that could never work are refused, and a dry run
 * names the past releases a candidate would change.
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ALLOW_ALL_RESOURCE_POLICY } from '../resourcePolicy.ts';
import { cleanupHarnessDirs, ERR, errorOf, Guest, policyBody, startHarness, type Harness } from '../testing/fixture.ts';

const TEAM_ACLS = [
  { role: 'admin', allowed_endpoints: '^/kbs/.+$' },
  { role: 'team-a', allowed_endpoints: '^/kbs/v0/(resource/team-a/[^/]+/[^/]+|resource-policy/(scope|explain|dry-run|decisions/for)/team-a(/.*)?)$' },
  { role: 'team-b', allowed_endpoints: '^/kbs/v0/(resource/team-b/[^/]+/[^/]+|resource-policy/(scope|explain|dry-run|decisions/for)/team-b(/.*)?)$' },
];

/** team-a's secrets need the sample evidence's svn to be "1" and a `team` init-data claim-free token. */
const SVN_POLICY = `package policy

default allow := false

allow if {
  input.submods.cpu0["ear.veraison.annotated-evidence"].sample.svn == "2"
}
`;

let h: Harness;
let logLines: string[];
let admin: string;

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: string) {
  return h.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload }) });
}

beforeEach(async () => {
  logLines = [];
  h = await startHarness({
    logLines,
    edit: (raw) => {
      const adminTable = raw['admin'] as { authorization: { regex_acl: { acls: unknown } } };
      adminTable.authorization.regex_acl.acls = TEAM_ACLS;
    },
  });
  admin = await h.adminToken();
  for (const path of ['team-a/key/one', 'team-b/key/one']) {
    const response = await h.app.inject({ method: 'POST', url: `/kbs/v0/resource/${path}`, payload: `secret of ${path}`, headers: { authorization: `Bearer ${admin}` } });
    expect(response.statusCode).toBe(200);
  }
});
afterEach(async () => {
  await h.close();
});
afterAll(() => cleanupHarnessDirs());

describe('decision ids and explain', () => {
  test('a denied guest sees PolicyDeny only; the decision id in the log explains it via id, token and claims', async () => {
    const guest = new Guest(h.app);
    const token = await guest.rcar();
    const denied = await guest.getResource('team-a/key/one');
    expect(denied.statusCode).toBe(401);
    expect(denied.body).toBe(JSON.stringify({ type: `${ERR}PolicyDeny`, detail: 'Access denied by policy' }));
    const line = logLines.find((l) => l.includes('PolicyDeny'));
    const id = /decision (d-[0-9a-z]+-[0-9a-f]{12})/.exec(line ?? '')?.[1];
    expect(id, line).toBeDefined();

    const listed = JSON.parse((await call('GET', '/kbs/v0/resource-policy/decisions', admin)).body) as Array<{ id: string; allowed: boolean; resource: string }>;
    expect(listed[0]).toMatchObject({ id, allowed: false, resource: 'resource/team-a/key/one' });

    const byId = await call('POST', '/kbs/v0/resource-policy/explain/team-a/key/one', admin, JSON.stringify({ decision_id: id }));
    expect(byId.statusCode, byId.body).toBe(200);
    const report = JSON.parse(byId.body) as { decision_id: string; allowed: boolean; policies: Array<{ policy: string; allowed: boolean; explanation: { bodies: Array<{ held: boolean; failed?: { expression: string; values: unknown[] } }> } }> };
    expect(report.decision_id).toBe(id);
    expect(report.allowed).toBe(false);
    expect(report.policies[0]?.policy).toBe('resource-policy');
    // The default policy refuses sample evidence: the failing expression names it.
    const failures = report.policies[0]?.explanation.bodies.map((b) => b.failed?.expression) ?? [];
    expect(failures.join('\n')).toMatch(/sample/);
    expect(byId.body).not.toContain('secret of');

    const byToken = await call('POST', '/kbs/v0/resource-policy/explain/team-a/key/one', admin, JSON.stringify({ token }));
    expect(JSON.parse(byToken.body).policies).toEqual(report.policies);
    const byClaims = await call('POST', '/kbs/v0/resource-policy/explain/team-a/key/one', admin, JSON.stringify({ claims: { submods: {} } }));
    expect(JSON.parse(byClaims.body).allowed).toBe(false);

    // An id for another path is refused; a bogus id is not found.
    const wrongPath = await call('POST', '/kbs/v0/resource-policy/explain/team-b/key/one', admin, JSON.stringify({ decision_id: id }));
    expect(errorOf(wrongPath).type).toBe(`${ERR}PolicyEngineError`);
    const bogus = await call('POST', '/kbs/v0/resource-policy/explain/team-a/key/one', admin, JSON.stringify({ decision_id: 'd-zzzzzzzz-000000000000' }));
    expect(errorOf(bogus).detail).toMatch(/not found/);
    const both = await call('POST', '/kbs/v0/resource-policy/explain/team-a/key/one', admin, JSON.stringify({ token, claims: {} }));
    expect(errorOf(both).type).toBe(`${ERR}ParsePolicyError`);
  });
});

describe('scoped policies', () => {
  test('global AND scope; each team admin manages only its own scope and resources', async () => {
    expect((await call('POST', '/kbs/v0/resource-policy', admin, policyBody(ALLOW_ALL_RESOURCE_POLICY))).statusCode).toBe(200);
    const teamA = await h.adminToken({ role: 'team-a' });
    const teamB = await h.adminToken({ role: 'team-b' });

    const setA = await call('POST', '/kbs/v0/resource-policy/scope/team-a/*', teamA, policyBody(SVN_POLICY));
    expect(setA.statusCode, setA.body).toBe(200);
    expect(JSON.parse(setA.body)).toEqual({ scope: 'team-a' });
    // team-a cannot touch team-b's scope or secrets, nor the global policy.
    for (const [method, url, payload] of [
      ['POST', '/kbs/v0/resource-policy/scope/team-b', policyBody(ALLOW_ALL_RESOURCE_POLICY)],
      ['DELETE', '/kbs/v0/resource-policy/scope/team-b', undefined],
      ['POST', '/kbs/v0/resource-policy', policyBody(ALLOW_ALL_RESOURCE_POLICY)],
      ['GET', '/kbs/v0/resource-policy/scope', undefined],
    ] as const) {
      const response = await call(method, url, teamA, payload);
      expect(response.statusCode, url).toBe(401);
      expect(errorOf(response).type).toBe(`${ERR}AdminAuthAccess`);
    }
    const writeB = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource/team-b/key/one', payload: 'overwritten', headers: { authorization: `Bearer ${teamA}` } });
    expect(writeB.statusCode).toBe(401);
    expect((await call('POST', '/kbs/v0/resource-policy/scope/team-b', teamB, policyBody(ALLOW_ALL_RESOURCE_POLICY))).statusCode).toBe(200);

    expect(JSON.parse((await call('GET', '/kbs/v0/resource-policy/scope', admin)).body)).toEqual(['team-a', 'team-b']);
    const got = JSON.parse((await call('GET', '/kbs/v0/resource-policy/scope/team-a', teamA)).body) as { policy: string };
    expect(Buffer.from(got.policy, 'base64url').toString()).toBe(SVN_POLICY);

    // The sample guest (svn "1") gets team-b's secret but not team-a's.
    const guest = new Guest(h.app);
    await guest.rcar();
    const b = await guest.getResource('team-b/key/one');
    expect(b.statusCode).toBe(200);
    expect(guest.decrypt(b)).toBe('secret of team-b/key/one');
    const a = await guest.getResource('team-a/key/one');
    expect(a.body).toBe(JSON.stringify({ type: `${ERR}PolicyDeny`, detail: 'Access denied by policy' }));

    // team-a explains the deny: its scope policy failed on the svn comparison.
    const id = /decision (d-[0-9a-z]+-[0-9a-f]{12})/.exec(logLines.find((l) => l.includes('PolicyDeny')) ?? '')?.[1];
    const explained = JSON.parse((await call('POST', '/kbs/v0/resource-policy/explain/team-a/key/one', teamA, JSON.stringify({ decision_id: id }))).body) as { policies: Array<{ policy: string; allowed: boolean; explanation: { bodies: Array<{ failed?: { expression: string; values: Array<{ value: unknown }> } }> } }> };
    expect(explained.policies.map((p) => [p.policy, p.allowed])).toEqual([['resource-policy', true], ['scope:team-a', false]]);
    const failed = explained.policies[1]?.explanation.bodies[0]?.failed;
    expect(failed?.expression).toBe('input.submods.cpu0["ear.veraison.annotated-evidence"].sample.svn == "2"');
    expect(failed?.values[0]?.value).toBe('1');
    // Team A lists its own decisions (the deny is there), not team B's.
    const own = JSON.parse((await call('GET', '/kbs/v0/resource-policy/decisions/for/team-a', teamA)).body) as Array<{ id: string; resource: string }>;
    expect(own.map((d) => d.id)).toContain(id);
    expect(own.every((d) => d.resource.startsWith('resource/team-a/'))).toBe(true);
    expect((await call('GET', '/kbs/v0/resource-policy/decisions/for/team-b', teamA)).statusCode).toBe(401);
    expect((await call('GET', '/kbs/v0/resource-policy/decisions', teamA)).statusCode).toBe(401);
    // …but not team-b's paths.
    expect((await call('POST', '/kbs/v0/resource-policy/explain/team-b/key/one', teamA, JSON.stringify({ claims: {} }))).statusCode).toBe(401);

    // A dry run of a candidate that accepts svn "1" shows the deny turning into a release.
    const dry = JSON.parse((await call('POST', '/kbs/v0/resource-policy/dry-run/team-a', teamA, policyBody(SVN_POLICY.replace('"2"', '"1"')))).body) as { changed: Array<{ decision_id: string; recorded: boolean; candidate: boolean }> };
    expect(dry.changed).toEqual([expect.objectContaining({ decision_id: id, recorded: false, candidate: true })]);

    expect((await call('DELETE', '/kbs/v0/resource-policy/scope/team-a', teamA)).statusCode).toBe(200);
    expect((await guest.getResource('team-a/key/one')).statusCode).toBe(200);
  });

  test('uploads that could never work are refused and nothing is stored', async () => {
    for (const [source, type] of [
      ['package policy\nallow if {', 'PolicyEngineError'],
      ['package policy\nallow if http.send({"method": "get", "url": "http://x"}).status_code == 200', 'PolicyEngineError'],
      ['package policy\nallow if no.such_builtin(1)', 'PolicyEngineError'],
    ] as const) {
      for (const url of ['/kbs/v0/resource-policy/scope/team-a', '/kbs/v0/resource-policy']) {
        const response = await call('POST', url, admin, policyBody(source));
        expect(errorOf(response).type, `${url} ${source}`).toBe(`${ERR}${type}`);
      }
    }
    expect(JSON.parse((await call('GET', '/kbs/v0/resource-policy/scope', admin)).body)).toEqual([]);
    expect((await call('POST', '/kbs/v0/resource-policy/scope/a/b/c/d', admin, policyBody(ALLOW_ALL_RESOURCE_POLICY))).statusCode).toBe(404);
  });
});
