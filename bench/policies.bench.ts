/**
 * Resource-policy decision cost (services/kbs/src/policies): µs per `decide` on a SQLite store
 * (decision log in its own in-memory SQLite) with the global policy only, and with scoped
 * policies on the repository and the type above the path (two more reads and evaluations);
 * plus one `explain` of a denied decision.
 *
 * Run: pnpm exec tsx bench/policies.bench.ts
 */
import { SqliteStore } from '../packages/storage/src/index.ts';
import { DEFAULT_RESOURCE_POLICY } from '../packages/protocol/src/index.ts';
import { EAR_CLAIMS } from '../packages/rego/src/testPolicies.ts';
import { ResourcePolicy } from '../services/kbs/src/resourcePolicy.ts';
import { DecisionLog } from '../services/kbs/src/policies/decisions.ts';
import { ResourcePolicies } from '../services/kbs/src/policies/resourcePolicies.ts';
import { ScopedPolicyStore } from '../services/kbs/src/policies/scopes.ts';
import type { JsonObject } from '../services/kbs/src/backends.ts';

const SCOPED = `package policy

default allow := false

allow if {
  input.submods.cpu0["ear.status"] == "affirming"
}
`;

async function measure(label: string, iterations: number, f: () => Promise<unknown>, rounds = 5): Promise<void> {
  for (let i = 0; i < Math.min(200, iterations); i++) await f();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await f();
    per.push(Number(process.hrtime.bigint() - start) / iterations / 1000);
  }
  per.sort((a, b) => a - b);
  console.log(`${label.padEnd(60)} best ${(per[0] ?? 0).toFixed(1).padStart(7)} µs  median ${(per[Math.floor(per.length / 2)] ?? 0).toFixed(1).padStart(7)} µs  (${rounds}×${iterations})`);
}

const store = new SqliteStore({ path: ':memory:' });
const decisionStore = new SqliteStore({ path: ':memory:' });
const global = new ResourcePolicy(store);
await global.set(DEFAULT_RESOURCE_POLICY);
const policies = new ResourcePolicies(global, new ScopedPolicyStore(store), new DecisionLog(decisionStore, Date.now, 1_000_000));
const claims = EAR_CLAIMS as unknown as JsonObject;
const request = (repo: string) => ({ plugin: 'resource', path: [repo, 'keys', 'one'], query: {} });

console.log(`node ${process.version}`);
await measure('decide: global policy only', 2000, () => policies.decide(claims, request('plain')));
await policies.scoped.set('acme', SCOPED);
await policies.scoped.set('acme/keys', SCOPED);
await measure('decide: global + scoped acme + acme/keys', 2000, () => policies.decide(claims, request('acme')));
await measure('  of which: read + compile-cache the scoped policies above', 2000, () => policies.scoped.above(['acme', 'keys', 'one']));
await policies.scoped.set('deny', 'package policy\ndefault allow := false\nallow if input.nothing == 1\n');
const denied = await policies.decide(claims, request('deny'));
await measure('explain a denied decision (global + 1 scoped)', 500, () => policies.explain(claims, request('deny')));
console.log(`denied decision ${denied.decisionId}: ${JSON.stringify(denied.verdicts)}`);
await store.close();
await decisionStore.close();
