/**
 * Scale-out figures in one run: the sample flow (auth → attest → encrypted resource GET) against
 *   1. one KBS on SQLite (the embedded default, the floor), and
 *   2. three KBS replicas on PostgreSQL + Redis sessions, every step of a flow on the next
 *      replica (round robin, as a load balancer without affinity would spread them),
 * then the replicated run again with one replica killed (`kill -9`) halfway: guests whose
 * request hits the dead replica retry the flow on the others (the balancer drops it).
 *
 *   pnpm exec tsx bench/ha-flow.bench.ts [seconds=10] [guests=24]
 *
 * Prints flows/s, p50/p99 flow latency and KBS CPU ms per flow (all KBS processes together; CPU
 * depends much less than wall-clock on what else runs on the machine), and the failed/retried
 * flows of the kill run. Needs the PostgreSQL and Redis of the project's machines
 * (TRUSTEE_TEST_POSTGRES_URL / TRUSTEE_TEST_REDIS_URL override); the database is created for the
 * run and dropped after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTestDatabase, TEST_REDIS_URL } from '../packages/storage/src/testing/servers.ts';
import { b64std, b64url, primaryRuntimeData, runtimeDataDigest, teePubKeyFromKey } from '../packages/protocol/src/index.ts';
import { devConfigToml, prepareDevEnvironment } from '../services/kbs/src/devSetup.ts';

const seconds = Math.min(Number(process.argv[2] ?? 10), 120);
const guests = Math.min(Number(process.argv[3] ?? 24), 512);
const root = resolve(import.meta.dirname, '..');
const CLOCK_TICKS_PER_SECOND = 100;

interface Replica {
  readonly port: number;
  readonly child: ChildProcess;
  /** CPU seconds of this process (read before it dies, for the kill run). */
  cpuAtDeath?: number;
}

interface Reply {
  status: number;
  body: string;
  cookie: string | undefined;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function call(port: number, method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), cookie: res.headers['set-cookie']?.[0]?.split(';')[0] }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function processCpu(replica: Replica): number {
  return replica.cpuAtDeath ?? cpuSeconds(replica.child.pid);
}

async function startReplica(configFile: string): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services/kbs/src/main.ts'), '--config-file', configFile], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { KBS_LOG_LEVEL: 'warn', ...process.env },
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`KBS did not start:\n${output}`)), 120_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(chunk.toString());
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`KBS exited ${String(code)}:\n${output}`)));
  });
  return { port, child };
}

async function stopReplica(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  const exited = new Promise((resolveExit) => replica.child.once('exit', resolveExit));
  replica.child.kill('SIGTERM');
  await exited;
}

function percentile(sorted: number[], p: number): string {
  return (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN).toFixed(1);
}

interface RunResult {
  readonly flows: number[];
  readonly failedFlows: number;
  readonly retriedFlows: number;
  readonly elapsed: number;
  readonly kbsCpu: number;
}

/** `rotation()` is read before every request: the kill run shrinks it mid-run. */
async function runLoad(label: string, replicas: Replica[], rotation: () => Replica[], adminToken: string, midRun?: () => Promise<void>): Promise<RunResult> {
  const auth = { authorization: `Bearer ${adminToken}` };
  const first = rotation()[0];
  if (first === undefined) throw new Error('no replica');
  const policy = b64url.encode(new TextEncoder().encode('package policy\n\ndefault allow := true\n'));
  const setPolicy = await call(first.port, 'POST', '/kbs/v0/resource-policy', JSON.stringify({ policy }), auth);
  const setResource = await call(first.port, 'POST', '/kbs/v0/resource/default/key/bench', 'bench-secret', { ...auth, 'content-type': 'application/octet-stream' });
  if (setPolicy.status !== 200 || setResource.status !== 200) throw new Error(`${label}: setup failed: ${setPolicy.body} ${setResource.body}`);

  let turn = 0;
  const next = (): number => {
    const list = rotation();
    return list[turn++ % list.length]?.port ?? 0;
  };
  const flows: number[] = [];
  let failedFlows = 0;
  let retriedFlows = 0;
  const authBody = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha384'] } });
  const once = async (teePubKey: ReturnType<typeof teePubKeyFromKey>): Promise<boolean> => {
    try {
      const challenge = await call(next(), 'POST', '/kbs/v0/auth', authBody);
      if (challenge.status !== 200) return false;
      const nonce = (JSON.parse(challenge.body) as { nonce: string }).nonce;
      const digest = runtimeDataDigest(primaryRuntimeData(nonce, teePubKey, ''), 'sha384');
      const body = { 'init-data': null, 'runtime-data': { nonce, 'tee-pubkey': teePubKey }, 'tee-evidence': { primary_evidence: { svn: '1', report_data: b64std.encode(digest) }, additional_evidence: '' } };
      const attested = await call(next(), 'POST', '/kbs/v0/attest', JSON.stringify(body), { cookie: challenge.cookie ?? '' });
      if (attested.status !== 200) return false;
      const resource = await call(next(), 'GET', '/kbs/v0/resource/default/key/bench', undefined, { cookie: challenge.cookie ?? '' });
      return resource.status === 200;
    } catch {
      return false;
    }
  };
  const guest = async (deadline: number): Promise<void> => {
    const teePubKey = teePubKeyFromKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    while (performance.now() < deadline) {
      const t0 = performance.now();
      let tries = 0;
      while (!(await once(teePubKey))) {
        failedFlows += 1;
        tries += 1;
        if (performance.now() >= deadline) return;
      }
      if (tries > 0) retriedFlows += 1;
      flows.push(performance.now() - t0);
    }
  };

  await Promise.all(Array.from({ length: Math.min(guests, 8) }, () => guest(performance.now() + 2000))); // warm-up
  flows.length = 0;
  failedFlows = 0;
  retriedFlows = 0;
  const cpuStart = replicas.reduce((sum, replica) => sum + processCpu(replica), 0);
  const start = performance.now();
  const load = Promise.all(Array.from({ length: guests }, () => guest(start + seconds * 1000)));
  if (midRun !== undefined) {
    await new Promise((resolveWait) => setTimeout(resolveWait, (seconds * 1000) / 2));
    await midRun();
  }
  await load;
  const elapsed = (performance.now() - start) / 1000;
  const kbsCpu = replicas.reduce((sum, replica) => sum + processCpu(replica), 0) - cpuStart;
  return { flows, failedFlows, retriedFlows, elapsed, kbsCpu };
}

function report(label: string, result: RunResult, extra = ''): void {
  const sorted = [...result.flows].sort((a, b) => a - b);
  const perFlow = ((result.kbsCpu * 1000) / Math.max(1, result.flows.length)).toFixed(2);
  console.log(
    `  ${label.padEnd(38)} ${(result.flows.length / result.elapsed).toFixed(1).padStart(7)} flows/s  p50 ${percentile(sorted, 50).padStart(7)} ms  p99 ${percentile(sorted, 99).padStart(7)} ms  KBS CPU ${perFlow} ms/flow${extra}`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-ha-bench-'));
  const paths = await prepareDevEnvironment(dir);
  const adminToken = readFileSync(paths.adminToken, 'utf8').trim();
  const base = devConfigToml(paths, '127.0.0.1:0');
  const database = await createTestDatabase(undefined, 'trustee_ha_bench');
  const started: Replica[] = [];
  try {
    console.log(`HA flow bench: ${guests} concurrent guests, ${seconds} s per run, builtin AS, sample TEE, P-256 JWE; load avg ${(loadavg()[0] ?? Number.NaN).toFixed(1)} on ${availableParallelism()} cores (shared machine: wall-clock figures move with other load, CPU ms/flow much less)`);

    // 1. One KBS on SQLite (the dev config as it is).
    const sqlite = await startReplica(paths.configFile);
    started.push(sqlite);
    report('1 KBS, SQLite', await runLoad('sqlite', [sqlite], () => [sqlite], adminToken));
    await stopReplica(sqlite);

    // 2. Three replicas on PostgreSQL + Redis sessions: the same config with the storage swapped.
    const url = new URL(database.url);
    const storage = `[storage_backend]\nstorage_type = "Postgres"\n\n[storage_backend.backends.postgres]\nhost = ${JSON.stringify(url.hostname)}\nport = ${Number(url.port || 5432)}\ndb = ${JSON.stringify(database.name)}\nusername = ${JSON.stringify(decodeURIComponent(url.username || 'postgres'))}\n\n[storage_backend.backends.redis]\nurl = ${JSON.stringify(TEST_REDIS_URL)}\n`;
    const haToml = `session_storage_type = "Redis"\n\n${base.replace(/\[storage_backend\][\s\S]*?(?=\n\[\[plugins\]\]|\n\[(?!storage_backend)|$)/, storage)}`;
    if (!haToml.includes('storage_type = "Postgres"') || haToml.includes('Sqlite')) throw new Error(`could not swap the storage section:\n${haToml}`);
    const haConfig = join(dir, 'kbs-ha.toml');
    writeFileSync(haConfig, haToml);
    const replicas = await Promise.all([0, 1, 2].map(() => startReplica(haConfig)));
    started.push(...replicas);
    report('3 KBS, PostgreSQL + Redis, round robin', await runLoad('ha', replicas, () => replicas, adminToken));

    // 3. The same, one replica killed halfway; the balancer then sends nothing more to it.
    let rotation = [...replicas];
    const victim = replicas[2];
    if (victim === undefined) throw new Error('no third replica');
    const killed = await runLoad('ha-kill', replicas, () => rotation, adminToken, async () => {
      victim.cpuAtDeath = cpuSeconds(victim.child.pid);
      victim.child.kill('SIGKILL');
      rotation = rotation.filter((replica) => replica !== victim);
    });
    report('3 KBS, one killed (kill -9) halfway', killed, `  failed ${killed.failedFlows} attempts, ${killed.retriedFlows} flows retried and completed`);
  } finally {
    agent.destroy();
    await Promise.all(started.map((replica) => stopReplica(replica)));
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
