/**
 * KBS end-to-end throughput: sample-TEE RCAR (auth → attest) + one encrypted resource GET per
 * flow, N concurrent guests over keep-alive HTTP, against a KBS started as a real process
 * (`tsx services/kbs/src/main.ts --config-file F`) with SQLite storage on a temp dir.
 *
 *   pnpm exec tsx bench/kbs-flow.bench.ts [seconds=10] [guests=32] [workers=1]
 *
 * `workers` sets `http_server.worker_count` (node:cluster processes sharing the SQLite file).
 * Environment: KBS_LOG_LEVEL (default warn; `info` adds the per-release audit line),
 * KBS_BENCH_SESSION_STORAGE=Memory, KBS_BENCH_PROFILE_DIR=<dir> (V8 CPU profile of the KBS).
 * Besides wall-clock figures it prints the CPU milliseconds per flow of the KBS process tree
 * and of the bench client, which depend much less on what else runs on the machine.
 *
 * The resource policy is set to allow-all (the built-in default denies sample evidence). The
 * first response of each guest is decrypted to prove the flow is real; later ones only checked for 200,
 * so the client's ECDH does not eat the KBS's CPU share (both share the machine's cores).
 * Prints flows/s and p50/p99 per flow and per step.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { b64std, b64url, decryptJweResponse, primaryRuntimeData, runtimeDataDigest, teePubKeyFromKey, type JweResponse } from '../packages/protocol/src/index.ts';
import { devConfigToml, prepareDevEnvironment } from '../services/kbs/src/devSetup.ts';

const seconds = Math.min(Number(process.argv[2] ?? 10), 120);
const guests = Math.min(Number(process.argv[3] ?? 32), 1024);
const workers = Math.min(Number(process.argv[4] ?? 1), 16);
const root = resolve(import.meta.dirname, '..');

interface Reply {
  status: number;
  body: string;
  cookie: string | undefined;
}

const agent = new Agent({ keepAlive: true, maxSockets: guests });
let port = 0;

function call(method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const setCookie = res.headers['set-cookie']?.[0];
        resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), cookie: setCookie?.split(';')[0] });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by a process and its descendants (cluster workers),
 * from /proc; undefined where /proc is absent. On a shared machine the wall-clock throughput
 * depends on everybody's load, CPU per flow much less.
 */
function processTreeCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ticks = Number(fields[11]) + Number(fields[12]);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter((id) => id !== '')) {
        ticks += (processTreeCpuSeconds(Number(child)) ?? 0) * CLOCK_TICKS_PER_SECOND;
      }
    }
    return ticks / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): string {
  return (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN).toFixed(2);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-bench-'));
  const paths = await prepareDevEnvironment(dir);
  // KBS_BENCH_SESSION_STORAGE=Memory keeps sessions in the KBS process (one worker only).
  const sessionStorage = process.env['KBS_BENCH_SESSION_STORAGE'];
  const sessionLine = sessionStorage === undefined ? '' : `session_storage_type = ${JSON.stringify(sessionStorage)}\n`;
  // The bench is one client address standing in for many guests: the per-client /auth limits are off.
  const limitLines = 'auth_rate_limit_per_ip = 0\nmax_sessions_per_ip = 0';
  writeFileSync(paths.configFile, sessionLine + devConfigToml(paths, '127.0.0.1:0').replace('insecure_http = true', `insecure_http = true\nworker_count = ${workers}\n${limitLines}`));
  // KBS_BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of the KBS process there.
  const profileDir = process.env['KBS_BENCH_PROFILE_DIR'];
  const child = spawn(process.execPath, [...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]), '--import', 'tsx', join(root, 'services/kbs/src/main.ts'), '--config-file', paths.configFile], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { KBS_LOG_LEVEL: 'warn', ...process.env },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`KBS did not start:\n${stderr}`)), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        const match = /listening on http:\/\/[^:]+:(\d+)/.exec(chunk.toString());
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolvePort(Number(match[1]));
        }
      });
      child.on('exit', (code) => reject(new Error(`KBS exited ${code}:\n${stderr}`)));
    });

    const admin = readFileSync(paths.adminToken, 'utf8').trim();
    const auth = { authorization: `Bearer ${admin}` };
    const policy = b64url.encode(new TextEncoder().encode('package policy\n\ndefault allow := true\n'));
    const setPolicy = await call('POST', '/kbs/v0/resource-policy', JSON.stringify({ policy }), auth);
    const setResource = await call('POST', '/kbs/v0/resource/default/key/bench', 'bench-secret', { ...auth, 'content-type': 'application/octet-stream' });
    if (setPolicy.status !== 200 || setResource.status !== 200) throw new Error(`setup failed: ${setPolicy.body} ${setResource.body}`);

    const flow: number[] = [];
    const steps = { auth: [] as number[], attest: [] as number[], resource: [] as number[] };
    let failures = 0;
    let lastFailure = '';

    const authBody = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha384'] } });
    const guest = async (deadline: number): Promise<void> => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const teePubKey = teePubKeyFromKey(privateKey);
      let verified = false;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const challenge = await call('POST', '/kbs/v0/auth', authBody);
        const t1 = performance.now();
        const nonce = (JSON.parse(challenge.body) as { nonce: string }).nonce;
        const digest = runtimeDataDigest(primaryRuntimeData(nonce, teePubKey, ''), 'sha384');
        const attestation = {
          'init-data': null,
          'runtime-data': { nonce, 'tee-pubkey': teePubKey },
          'tee-evidence': { primary_evidence: { svn: '1', report_data: b64std.encode(digest) }, additional_evidence: '' },
        };
        const attested = await call('POST', '/kbs/v0/attest', JSON.stringify(attestation), { cookie: challenge.cookie ?? '' });
        const t2 = performance.now();
        const resource = await call('GET', '/kbs/v0/resource/default/key/bench', undefined, { cookie: challenge.cookie ?? '' });
        const t3 = performance.now();
        if (attested.status !== 200 || resource.status !== 200) {
          failures += 1;
          lastFailure = `${attested.status} ${attested.body} / ${resource.status} ${resource.body}`;
          continue;
        }
        if (!verified) {
          const jwe = JSON.parse(resource.body) as JweResponse;
          if (new TextDecoder().decode(decryptJweResponse(jwe, privateKey)) !== 'bench-secret') throw new Error('wrong plaintext');
          verified = true;
        }
        flow.push(t3 - t0);
        steps.auth.push(t1 - t0);
        steps.attest.push(t2 - t1);
        steps.resource.push(t3 - t2);
      }
    };

    await Promise.all(Array.from({ length: Math.min(guests, 8) }, () => guest(performance.now() + 2000))); // warm-up
    flow.length = 0;
    steps.auth.length = 0;
    steps.attest.length = 0;
    steps.resource.length = 0;
    failures = 0;
    const loadBefore = loadavg()[0] ?? Number.NaN;
    const kbsCpuStart = child.pid === undefined ? undefined : processTreeCpuSeconds(child.pid);
    const clientCpuStart = process.cpuUsage();
    const start = performance.now();
    await Promise.all(Array.from({ length: guests }, () => guest(start + seconds * 1000)));
    const elapsed = (performance.now() - start) / 1000;
    const kbsCpuEnd = child.pid === undefined ? undefined : processTreeCpuSeconds(child.pid);
    const clientCpu = process.cpuUsage(clientCpuStart);

    const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
    console.log(`KBS flow bench: ${guests} concurrent guests, ${workers} KBS worker(s), ${elapsed.toFixed(1)} s, SQLite (WAL; durable data synchronous=FULL, sessions ${sessionStorage ?? 'NORMAL'}), builtin AS, sample TEE, P-256 JWE; load avg ${loadBefore.toFixed(1)} -> ${(loadavg()[0] ?? Number.NaN).toFixed(1)} on ${availableParallelism()} cores`);
    console.log(`  flows/s (auth+attest+resource): ${(flow.length / elapsed).toFixed(0)}   (${flow.length} flows, ${failures} failed${failures > 0 ? `: ${lastFailure}` : ''})`);
    const perFlowMs = (cpuSeconds: number): string => ((cpuSeconds * 1000) / Math.max(1, flow.length)).toFixed(3);
    const kbsCpu = kbsCpuStart === undefined || kbsCpuEnd === undefined ? undefined : kbsCpuEnd - kbsCpuStart;
    const clientCpuSeconds = (clientCpu.user + clientCpu.system) / 1e6;
    console.log(
      `  CPU ms per flow: KBS ${kbsCpu === undefined ? 'n/a' : perFlowMs(kbsCpu)} (${kbsCpu === undefined ? 'n/a' : (kbsCpu / elapsed).toFixed(2)} cores busy)  bench client ${perFlowMs(clientCpuSeconds)}`,
    );
    const f = sorted(flow);
    console.log(`  flow latency ms: p50 ${percentile(f, 50)}  p99 ${percentile(f, 99)}`);
    for (const [name, values] of Object.entries(steps)) {
      const s = sorted(values);
      console.log(`  ${name.padEnd(8)} ms: p50 ${percentile(s, 50)}  p99 ${percentile(s, 99)}`);
    }
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((resolveExit) => child.once('exit', resolveExit));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
