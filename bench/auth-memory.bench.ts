/**
 * Memory under a flood of `/auth` without attest: N calls (default 10^6) from C concurrent
 * clients against one KBS process (default worker count, SQLite), printing the RSS of the KBS
 * processes (primary + workers, VmRSS from /proc) and the session database size before, every
 * tenth of the run, and after the sessions have expired. Sessions live `--timeout-min` minutes
 * (`[attestation_service] timeout`, default 1) and at most `max_sessions` per process, so RSS
 * must level off once the first sessions expire and stay flat.
 *
 *   pnpm exec tsx bench/auth-memory.bench.ts [--calls 1000000] [--clients 64] [--timeout-min 1] [--max-seconds 3600]
 *
 * The run stops after `--max-seconds` even if fewer calls were made and says how many were.
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { HttpClient, loadAverages, processTreeCpuSeconds, processTreeRssKiB, startKbs } from './lib/kbsHarness.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '64' },
    'timeout-min': { type: 'string', default: '1' },
    'max-seconds': { type: 'string', default: '3600' },
    workers: { type: 'string' },
  },
  strict: true,
});
const calls = Math.min(Math.max(Number(values.calls), 1), 10_000_000);
const clients = Math.min(Math.max(Number(values.clients), 1), 1024);
const timeoutMinutes = Math.min(Math.max(Number(values['timeout-min']), 0.05), 60);
const maxSeconds = Math.min(Math.max(Number(values['max-seconds']), 10), 6 * 3600);
const workers = values.workers === undefined ? undefined : Math.min(Math.max(Number(values.workers), 1), 16);

const kbs = await startKbs({
  workers,
  // One client address stands in for many guests: the per-address /auth limits are off; the
  // global max_sessions (default 100 000 per process) and the byte cap stay.
  httpServerLines: ['auth_rate_limit_per_ip = 0', 'max_sessions_per_ip = 0'],
  editConfig: (toml) => toml.replace(/^timeout = .*$/m, `timeout = ${timeoutMinutes}`),
});
const client = new HttpClient(kbs.port, clients);
const sessionDb = kbs.paths.database.replace(/\.sqlite$/, '.sessions.sqlite');
const dbMiB = (): string => (['', '-wal', '-shm'].reduce((sum, suffix) => sum + (existsSync(sessionDb + suffix) ? statSync(sessionDb + suffix).size : 0), 0) / 1048576).toFixed(1);
const line = (label: string, done: number, started: number): void => {
  const elapsed = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(10)} calls ${String(done).padStart(8)}  t ${elapsed.toFixed(0).padStart(5)} s  KBS RSS ${(processTreeRssKiB(kbs.pid) / 1024).toFixed(1).padStart(7)} MiB  ` +
      `session db ${dbMiB().padStart(6)} MiB  KBS CPU ${(processTreeCpuSeconds(kbs.pid) ?? Number.NaN).toFixed(0)} s  load ${loadAverages()}`,
  );
};

try {
  console.log(`/auth flood: ${calls} calls, ${clients} concurrent clients, ${Math.max(1, kbs.workerProcesses())} KBS serving process(es), session timeout ${timeoutMinutes} min`);
  const started = performance.now();
  line('before', 0, started);
  const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' });
  let sent = 0;
  let done = 0;
  let refused = 0;
  let nextReport = calls / 10;
  const deadline = started + maxSeconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (sent < calls && performance.now() < deadline) {
        sent += 1;
        const reply = await client.call('POST', '/kbs/v0/auth', body).catch(() => ({ status: 0 }));
        if (reply.status !== 200) refused += 1;
        done += 1;
        if (done >= nextReport) {
          nextReport += calls / 10;
          line('during', done, started);
        }
      }
    }),
  );
  line('end', done, started);
  console.log(`${done} /auth calls made (${refused} not 200) in ${((performance.now() - started) / 1000).toFixed(0)} s${done < calls ? `: stopped by --max-seconds ${maxSeconds}` : ''}`);
  // Every session has expired after one lifetime; the sweepers run every 5 s (memory) and 60 s (store).
  const waitMs = timeoutMinutes * 60_000 + 65_000;
  console.log(`waiting ${(waitMs / 1000).toFixed(0)} s for the sessions to expire and be swept`);
  await new Promise((resolveWait) => setTimeout(resolveWait, waitMs));
  line('after', done, started);
} finally {
  client.close();
  await kbs.stop();
}
