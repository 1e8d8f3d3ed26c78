/**
 * Invariants: a release needs the global policy AND every scoped policy above the path; a scope
 * never affects another repository; every decision gets an id whose record explains the deny
 * (failing rule body, expression, compared values); a dry run reports exactly the recorded
 * decisions a candidate policy changes; scoped policies and decisions live in the KBS store,
 * on every backend (memory, SQLite, real PostgreSQL and Redis).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger, type Logger } from '@trustee/log';
import { compilePolicy } from '@trustee/rego';
import { MemoryStore, PostgresStore, RedisStore, SqliteStore, type KeyValueStore } from '@trustee/storage';
import { createTestDatabase, createTestRedis, probePostgres, probeRedis, type TestDatabase, type TestRedis } from '@trustee/storage/testing/servers.ts';
import { KbsError } from '../errors.ts';
import { ALLOW_ALL_RESOURCE_POLICY, ResourcePolicy } from '../resourcePolicy.ts';
import { DecisionLog } from './decisions.ts';
import { ResourcePolicies, SCOPED_POLICY_BUDGET } from './resourcePolicies.ts';
import { parseScope, ScopedPolicyStore, scopesAbove } from './scopes.ts';
import { PolicyRejected, validateResourcePolicy } from './validation.ts';

const TEAM_POLICY = (team: string): string => `package policy

default allow := false

allow if {
  input.team == "${team}"
}
`;

const KEYS_POLICY = `package policy

default allow := false

allow if {
  input.level >= 3
}
`;

const postgres = await probePostgres('resource policies (PostgreSQL)');
const redisServer = await probeRedis('resource policies (Redis)');
let database: TestDatabase | undefined;
let redis: TestRedis | undefined;
const opened: KeyValueStore[] = [];

beforeAll(async () => {
  if (postgres.available) database = await createTestDatabase(postgres.url, 'kbs_policies');
  if (redisServer.available) redis = await createTestRedis(redisServer.url);
});

afterAll(async () => {
  for (const store of opened) await store.close();
  await database?.drop();
  await redis?.drop();
});

const backends: Array<[string, boolean, () => KeyValueStore]> = [
  ['memory', true, () => new MemoryStore()],
  ['SQLite', true, () => new SqliteStore({ path: ':memory:' })],
  ['PostgreSQL', postgres.available, () => new PostgresStore({ url: database?.url ?? '' })],
  ['Redis', redisServer.available, () => new RedisStore({ url: redisServer.available ? redisServer.url : '', keyPrefix: redis?.prefix ?? '' })],
];

async function setup(open: () => KeyValueStore): Promise<ResourcePolicies> {
  const store = open();
  opened.push(store);
  // One database / key prefix per backend and run: start each test from empty namespaces.
  for (const namespace of ['kbs_decisions', 'kbs_scoped_policy']) for (const key of await store.list(namespace)) await store.delete(namespace, key);
  const global = new ResourcePolicy(store);
  await global.set(ALLOW_ALL_RESOURCE_POLICY);
  return new ResourcePolicies(global, new ScopedPolicyStore(store), new DecisionLog(store));
}

const resource = (path: string) => ({ plugin: 'resource', path: path.split('/'), query: {} });

describe.each(backends)('on %s', (_name, available, open) => {
  test.skipIf(!available)('global AND scoped policies decide; decisions are recorded and explained', async () => {
    const policies = await setup(open);
    await policies.scoped.set('acme', TEAM_POLICY('acme'));
    await policies.scoped.set('acme/keys', KEYS_POLICY);
    await policies.scoped.set('beta', TEAM_POLICY('beta'));
    expect(await policies.scoped.list()).toEqual(['acme', 'acme/keys', 'beta']);
    expect(await policies.scoped.list('acme')).toEqual(['acme', 'acme/keys']);

    const acmeGuest = { team: 'acme', level: 3 };
    expect((await policies.decide(acmeGuest, resource('acme/keys/one'))).allowed).toBe(true);
    expect((await policies.decide(acmeGuest, resource('acme/certs/one'))).allowed).toBe(true);
    expect((await policies.decide(acmeGuest, resource('beta/keys/one'))).allowed).toBe(false);
    // No scoped policy above `other`: the global one alone decides.
    expect((await policies.decide(acmeGuest, resource('other/keys/one'))).allowed).toBe(true);
    // Other plugins are not scoped.
    expect((await policies.decide({ team: 'x' }, { plugin: 'sample', path: ['acme', 'keys', 'one'], query: {} })).allowed).toBe(true);

    const low = await policies.decide({ team: 'acme', level: 1 }, resource('acme/keys/one'));
    expect(low.allowed).toBe(false);
    expect(low.verdicts).toEqual([
      { policy: 'resource-policy', result: true },
      { policy: 'scope:acme', result: true },
      { policy: 'scope:acme/keys', result: false },
    ]);
    const record = await policies.decision(low.decisionId);
    expect(record?.allowed).toBe(false);
    expect(record?.claims).toEqual({ team: 'acme', level: 1 });

    const report = await policies.explain(record?.claims ?? {}, record?.request ?? resource('x/y/z'));
    expect(report.allowed).toBe(false);
    expect(report.policies.map((p) => [p.policy, p.allowed])).toEqual([
      ['resource-policy', true],
      ['scope:acme', true],
      ['scope:acme/keys', false],
    ]);
    const failed = report.policies[2]?.explanation?.bodies[0]?.failed;
    expect(failed?.expression).toBe('input.level >= 3');
    expect(failed?.values).toEqual([{ expression: 'input.level', defined: true, value: 1 }]);

    expect((await policies.log.recentIds(10))[0]).toBe((await policies.log.recentIds(10)).sort().reverse()[0]);
    expect(await policies.scoped.delete('acme/keys')).toBe(true);
    expect((await policies.decide({ team: 'acme', level: 1 }, resource('acme/keys/one'))).allowed).toBe(true);
  });

  test.skipIf(!available)('a dry run lists exactly the recorded decisions the candidate changes', async () => {
    const policies = await setup(open);
    await policies.scoped.set('acme', TEAM_POLICY('acme'));
    const granted = await policies.decide({ team: 'acme', level: 5 }, resource('acme/keys/one'));
    const granted2 = await policies.decide({ team: 'acme', level: 1 }, resource('acme/keys/two'));
    await policies.decide({ team: 'beta', level: 5 }, resource('acme/keys/one'));
    await policies.decide({ team: 'beta', level: 5 }, resource('beta/keys/one'));
    // Records of releases are written without waiting; give them a moment on a remote store.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const report = await policies.dryRun({ kind: 'scope', scope: 'acme' }, compilePolicy(KEYS_POLICY));
    expect(report.replayed).toBe(3);
    // level 1 loses its release; team beta with level 5 gains one.
    expect(report.changed.map((c) => [c.resource, c.recorded, c.candidate]).sort()).toEqual([
      ['resource/acme/keys/one', false, true],
      ['resource/acme/keys/two', true, false],
    ]);
    expect(report.changed.find((c) => c.recorded)?.decision_id).toBe(granted2.decisionId);
    expect(granted.allowed).toBe(true);
    const global = await policies.dryRun({ kind: 'global' }, compilePolicy('package policy\ndefault allow := false\n'));
    expect(global.changed.every((c) => c.recorded && !c.candidate)).toBe(true);
    expect(global.changed.length).toBe(3);
  });
});

test('an unreadable or broken scoped policy denies (PolicyEngineError), never skipped', async () => {
  const store = new MemoryStore();
  const global = new ResourcePolicy(store);
  await global.set(ALLOW_ALL_RESOURCE_POLICY);
  const policies = new ResourcePolicies(global, new ScopedPolicyStore(store), new DecisionLog(store));
  await store.set('kbs_scoped_policy', 'acme.rego', new Uint8Array([0xff, 0xfe]));
  const error = await policies.decide({}, resource('acme/keys/one')).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(KbsError);
  expect((error as KbsError).code).toBe('PolicyEngineError');
  expect((error as KbsError).reason).toMatch(/decision d-/);
  await store.set('kbs_scoped_policy', 'acme.rego', new TextEncoder().encode('package policy\nallow if {'));
  expect(((await policies.decide({}, resource('acme/keys/one')).catch((e: unknown) => e)) as KbsError).code).toBe('PolicyEngineError');
});

test("a team's heavy scoped policy is cut at its own budget (PolicyEngineError), well under the global 1 s", async () => {
  const store = new MemoryStore();
  const global = new ResourcePolicy(store);
  await global.set(ALLOW_ALL_RESOURCE_POLICY);
  const policies = new ResourcePolicies(global, new ScopedPolicyStore(store), new DecisionLog(store));
  await policies.scoped.set('acme', 'package policy\nallow if { some i in numbers.range(1, 100000000); i < 0 }\n');
  const start = performance.now();
  const error = await policies.decide({}, resource('acme/keys/one')).catch((e: unknown) => e);
  const elapsed = performance.now() - start;
  expect((error as KbsError).code).toBe('PolicyEngineError');
  expect(elapsed).toBeLessThan(SCOPED_POLICY_BUDGET.timeoutMs + 400);
  // Other repositories are unaffected.
  expect((await policies.decide({}, resource('beta/keys/one'))).allowed).toBe(true);
  const dry = await policies.dryRun({ kind: 'global' }, compilePolicy(ALLOW_ALL_RESOURCE_POLICY));
  expect(dry.complete).toBe(true);
});

test('scopes: 1-3 resource segments, `/*` accepted, nothing else', () => {
  expect(parseScope(['acme', '*'])).toEqual(['acme']);
  expect(parseScope(['acme', 'keys', '*'])).toEqual(['acme', 'keys']);
  expect(parseScope(['acme', 'keys', 'one'])).toEqual(['acme', 'keys', 'one']);
  for (const bad of [[], ['*'], ['..'], ['a', 'b', 'c', 'd'], ['a b'], ['.hidden'], ['x'.repeat(65)]]) expect(parseScope(bad)).toBeUndefined();
  expect(scopesAbove(['acme', 'keys', 'one'])).toEqual(['acme', 'acme/keys', 'acme/keys/one']);
});

test('policy upload refuses syntax errors, unknown builtins and network builtins', () => {
  expect(() => validateResourcePolicy(ALLOW_ALL_RESOURCE_POLICY)).not.toThrow();
  expect(() => validateResourcePolicy('package policy\nallow if {')).toThrow(PolicyRejected);
  expect(() => validateResourcePolicy('package policy\nallow if foo.bar(1)')).toThrow(/undefined function foo.bar/);
  expect(() => validateResourcePolicy('package policy\nallow if { r := http.send({"method": "get", "url": "http://x"}); r.status_code == 200 }')).toThrow(/http.send performs network I\/O/);
  expect(() => validateResourcePolicy('package policy\nallow if net.lookup_ip_addr("example.com")')).toThrow(PolicyRejected);
});

test("a decision that cannot be recorded still stands, and the failure goes to the deciding request's logger", async () => {
  const store = new MemoryStore();
  const global = new ResourcePolicy(store);
  await global.set(ALLOW_ALL_RESOURCE_POLICY);
  const refusing: KeyValueStore = {
    get: (namespace, key) => store.get(namespace, key),
    set: async () => {
      throw new Error('decision store down');
    },
    delete: (namespace, key) => store.delete(namespace, key),
    list: (namespace, prefix) => store.list(namespace, prefix),
    ping: () => store.ping(),
    close: () => store.close(),
  };
  const reports: { message: string; requestLog: Logger | undefined }[] = [];
  const policies = new ResourcePolicies(global, new ScopedPolicyStore(store), new DecisionLog(refusing), {
    onRecordError: (error, requestLog) => reports.push({ message: (error as Error).message, requestLog }),
  });
  const requestLog = silentLogger.child({ reqId: 'req-7' });
  const decision = await policies.decide({}, resource('default/key/one'), requestLog);
  expect(decision.allowed).toBe(true);
  await new Promise((resolve) => setImmediate(resolve));
  expect(reports).toEqual([{ message: 'decision store down', requestLog }]);
});
