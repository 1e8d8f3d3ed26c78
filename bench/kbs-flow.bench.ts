/**
 * KBS end-to-end throughput and cost against its crypto floor: sample-TEE RCAR (auth → attest)
 * plus one encrypted resource GET per flow, N concurrent guests over keep-alive HTTP, against
 * one KBS started as a real process (`services/kbs/src/main.ts --config-file F`, SQLite storage in
 * a temp dir, builtin AS), for each TEE key kind and each guest count.
 *
 *   pnpm bench:kbs                                  # the whole table (see bench/README.md)
 *   pnpm exec tsx bench/kbs-flow.bench.ts [--seconds 5] [--guests 1,32,256] [--keys P-256,P-521,RSA-OAEP-256] [--workers N] [--steps] [--session-storage Memory] [--append-toml TOML] [--compiled]
 *
 * Without `--workers` the config leaves `http_server.worker_count` unset: the KBS default (one
 * worker per core). Per row it prints flows/s, flow latency p50/p99 (ms), the CPU milliseconds
 * per flow of the KBS processes only (primary + workers, from /proc; the bench client is not
 * counted), the crypto floor per flow measured in this same run (bench/lib/kbsHarness.ts
 * `floorOperation`: what one flow must do with node:crypto on the KBS side) and their ratio.
 * CPU per flow and the ratio hardly move with other load on the machine; flows/s and latency do,
 * so every row carries the load averages before and after it.
 *
 * Environment: KBS_LOG_LEVEL (default warn; `info` adds the per-release audit line),
 * KBS_BENCH_PROFILE_DIR=<dir> (V8 CPU profiles of the KBS processes; summarise them with
 * `pnpm exec tsx bench/cpu-profile-top.ts <dir>`).
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { floorOperation, HttpClient, measureHttpFloor, isTeeKeyKind, loadAverages, measureFloorMs, percentile, runFlowPhase, sampleEvidence, setUpResource, startKbs, TABLE_HEADER, tableRow, TEE_KEY_KINDS, type TeeKeyKind } from './lib/kbsHarness.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    guests: { type: 'string', default: '1,32,256' },
    keys: { type: 'string', default: TEE_KEY_KINDS.join(',') },
    workers: { type: 'string' },
    steps: { type: 'boolean', default: false },
    // Seconds of the HTTP floor (GET /healthz) per guest count; 0 leaves it out.
    'http-floor': { type: 'string', default: '3' },
    'session-storage': { type: 'string' },
    compiled: { type: 'boolean' },
    // TOML appended to the KBS config, e.g. $'[audit]\nenabled = false' to see what the audit trail costs.
    'append-toml': { type: 'string' },
  },
  strict: true,
});
const seconds = Math.min(Math.max(Number(values.seconds), 1), 120);
const guestCounts = values.guests.split(',').map((value) => Math.min(Math.max(Number(value), 1), 1024));
const keyKinds = values.keys.split(',').filter(isTeeKeyKind);
if (keyKinds.length === 0) throw new Error(`--keys: one or more of ${TEE_KEY_KINDS.join(', ')}`);
const workers = values.workers === undefined ? undefined : Math.min(Math.max(Number(values.workers), 1), 16);
const SECRET = 'bench-secret';

const kbs = await startKbs({
  workers,
  compiled: values.compiled === true,
  // The bench is one client address standing in for many guests: the per-client /auth limits are off.
  httpServerLines: ['auth_rate_limit_per_ip = 0', 'max_sessions_per_ip = 0'],
  profileDir: process.env['KBS_BENCH_PROFILE_DIR'],
  // --session-storage Memory: sessions in each process (one worker only), to see what the shared session store costs.
  topLevelLines: values['session-storage'] === undefined ? [] : [`session_storage_type = ${JSON.stringify(values['session-storage'])}`],
  ...(values['append-toml'] === undefined ? {} : { appendToml: values['append-toml'] }),
});
const client = new HttpClient(kbs.port, Math.max(...guestCounts));
try {
  const resourcePath = await setUpResource(client, kbs.adminToken, SECRET);
  const workerProcesses = kbs.workerProcesses();
  console.log(
    `KBS flow bench: sample TEE, builtin AS, SQLite (WAL; durable data synchronous=FULL, sessions ${values['session-storage'] ?? 'SQLite NORMAL'}), ${seconds} s per row, ` +
      `KBS ${values.compiled === true ? 'compiled (dist, plain node)' : 'from source (tsx)'}, worker_count ${workers ?? `unset (default)`} → ${Math.max(1, workerProcesses)} serving process(es), ${availableParallelism()} cores, node ${process.version}, load ${loadAverages()}`,
  );
  console.log('KBS CPU = primary + workers from /proc (bench client excluded); floor = node:crypto cost of one flow\'s KBS-side operations, measured here');
  console.log(TABLE_HEADER);
  for (const keyKind of keyKinds) {
    const floorMs = measureFloorMs(floorOperation(keyKind as TeeKeyKind));
    for (const guests of guestCounts) {
      const result = await runFlowPhase({ kbs, tee: 'sample', evidence: sampleEvidence, keyKind, guests, seconds, resourcePath, secret: SECRET });
      console.log(tableRow(`sample ${keyKind} ${guests} guest(s)`, result, floorMs));
      if (result.failures > 0) for (const line of kbs.problemLines()) console.log(`  KBS: ${line}`);
      if (values.steps) {
        const step = (name: keyof typeof result.steps): string => `${name} p50 ${percentile(result.steps[name], 50).toFixed(2)} p99 ${percentile(result.steps[name], 99).toFixed(2)}`;
        console.log(`    ${step('auth')} | ${step('attest')} | ${step('resource')}`);
      }
    }
  }
  const httpFloorSeconds = Math.min(Math.max(Number(values['http-floor']), 0), 60);
  if (httpFloorSeconds > 0) {
    for (const guests of guestCounts) {
      const floor = await measureHttpFloor(kbs, guests, httpFloorSeconds);
      console.log(
        `HTTP floor, ${guests} connection(s): GET /healthz costs the KBS ${floor.kbsMsPerRequest.toFixed(3)} ms CPU per request (${floor.requestsPerSecond.toFixed(0)} req/s) → ` +
          `${(3 * floor.kbsMsPerRequest).toFixed(3)} ms per flow for its three round trips, load ${loadAverages()}`,
      );
    }
  }
} finally {
  client.close();
  await kbs.stop();
}
