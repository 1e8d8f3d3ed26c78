/**
 * The storage work of one sample flow, without HTTP or crypto: what the KBS writes and reads per
 * flow in its three SQLite side files (sessions, audit trail + attestation claims, decision log),
 * done by `guests` concurrent loops in one process, in the files and with the settings the KBS
 * uses (WAL, synchronous=NORMAL). Per flow:
 *
 *   sessions: create (/auth) → get → claim the challenge → mark attested (/attest)
 *   audit:    one attestation record + its claims, one release record (/resource)
 *   decisions: one resource-policy decision record
 *
 *   pnpm exec tsx bench/storage-flow.bench.ts [seconds=5] [guests=16] [dir]
 *
 * With `dir`, the files are opened (and kept) there: start two at once on one directory to see
 * two KBS workers sharing the files.
 *
 * Prints flows/s and CPU ms per flow of this process (user+system), which is the storage CPU one
 * KBS process spends per flow; compare runs made back to back (see bench/README.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../packages/storage/src/index.ts';
import { AuditTrail } from '../services/kbs/src/audit/trail.ts';
import { DecisionLog } from '../services/kbs/src/policies/decisions.ts';
import { SessionManager } from '../services/kbs/src/sessions.ts';
import type { AuthRequest, Challenge } from '../packages/protocol/src/index.ts';

const seconds = Math.min(Number(process.argv[2] ?? 5), 60);
const guests = Math.min(Number(process.argv[3] ?? 16), 512);
const shared = process.argv[4];
const dir = shared ?? mkdtempSync(join(tmpdir(), 'storage-flow-'));
const open = (name: string): SqliteStore => new SqliteStore({ path: join(dir, `kbs.${name}.sqlite`), synchronous: 'NORMAL' });
const sessionStore = open('sessions');
const auditStore = open('audit');
const decisionStore = open('decisions');
const sessions = new SessionManager(sessionStore, { timeoutMinutes: 5, now: Date.now, maxSessionsPerClient: 0 });
const trail = new AuditTrail(auditStore, { replica: `bench/${process.pid}` });
const decisions = new DecisionLog(decisionStore);

// Claims the size of a sample EAR token's (a few hundred bytes of submods plus a TEE public key).
const claims = {
  eat_profile: 'tag:github.com,2023:veraison/ear',
  iat: 1_700_000_000,
  'ear.verifier-id': { build: 'trustee-ts', developer: 'https://confidentialcontainers.org' },
  submods: { cpu0: { 'ear.status': 'affirming', 'ear.appraisal-policy-id': 'default', 'ear.veraison.annotated-evidence': { sample: { svn: '1', report_data: 'ab'.repeat(48), launch_digest: 'cd'.repeat(32) } }, 'ear.trustworthiness-vector': { executables: 2, hardware: 2, configuration: 2 } } },
  'ear.veraison.tee-pubkey': { kty: 'EC', crv: 'P-256', alg: 'ES256', x: 'x'.repeat(43), y: 'y'.repeat(43) },
};
const request: AuthRequest = { version: '0.4.0', tee: 'sample', 'extra-params': {} } as unknown as AuthRequest;
const challenge: Challenge = { nonce: 'n'.repeat(44), 'extra-params': {} } as unknown as Challenge;
const te = new TextEncoder();

async function flow(guest: number): Promise<void> {
  const session = await sessions.create(request, challenge, `10.0.0.${guest}`);
  const read = await sessions.get(session.id);
  if (read === undefined || !(await sessions.claimChallenge(read))) throw new Error('claim failed');
  await sessions.markAttested(read, `header.${'t'.repeat(900)}.signature`, 'sample');
  const decision = `a-${Date.now().toString(36)}-${guest.toString(16).padStart(12, '0')}`;
  await Promise.all([
    trail.append({ kind: 'attestation', decision, outcome: 'success', tee: 'sample', evidence: 'e'.repeat(64), policies: [{ id: 'default_cpu', hash: 'f'.repeat(64) }], status: 200, method: 'POST' }),
    auditStore.set('kbs_attestation_claims', decision, te.encode(JSON.stringify({ decision, time: new Date().toISOString(), claimsDigest: 'd'.repeat(64), claims })), { expiresAtMs: Date.now() + 3_600_000 }),
  ]);
  const record = decisions.build({ plugin: 'resource', path: ['default', 'key', 'bench'], query: {} }, claims, true, [{ policy: 'resource-policy', result: true }]);
  decisions.store(record).catch(() => undefined);
  await trail.append({ kind: 'release', decision: record.id, outcome: 'allow', resource: 'resource/default/key/bench', tee: 'sample', policies: [{ id: 'resource-policy', hash: 'a'.repeat(64) }], status: 200, method: 'GET' });
}

let flows = 0;
const load = loadavg().map((value) => value.toFixed(2)).join(' ');
const deadline = performance.now() + seconds * 1000;
const cpu = process.cpuUsage();
const started = performance.now();
await Promise.all(
  Array.from({ length: guests }, async (_, guest) => {
    while (performance.now() < deadline) {
      await flow(guest);
      flows++;
    }
  }),
);
await trail.flush();
const used = process.cpuUsage(cpu);
const elapsed = (performance.now() - started) / 1000;
sessions.close();
await Promise.all([sessionStore.close(), auditStore.close(), decisionStore.close()]);
if (shared === undefined) rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `storage flow, ${guests} guests, ${seconds} s: ${Math.round(flows / elapsed)} flows/s, CPU ${((used.user + used.system) / 1000 / flows).toFixed(3)} ms/flow ` +
    `(user ${(used.user / 1000 / flows).toFixed(3)}, system ${(used.system / 1000 / flows).toFixed(3)}), load ${load} -> ${loadavg().map((value) => value.toFixed(2)).join(' ')}\n`,
);
