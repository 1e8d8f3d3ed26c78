/**
 * Process start to healthy for the KBS, the AS and the RVPS of the compose topology, outside
 * containers, compiled (`pnpm build`, plain node, what the images run) against the TypeScript
 * sources through tsx (the dev path):
 *
 *   pnpm build && pnpm exec tsx bench/startup.bench.ts [runs=5]
 *
 * Each service runs with its deploy/compose config (container paths rewritten to a scratch
 * directory, ports to loopback port 0) and keys from deploy/generate-keys.sh; the RVPS stays up
 * for the AS runs and the AS for the KBS runs. A run is timed from spawn to the `listening` line
 * and to the first success of deploy/docker/healthcheck.mjs (the compose health probe; its own
 * node start is part of that figure, as in a container). CPU is the service's user+system time
 * at that moment (/proc/PID/stat). The floor is the same measurement for a node process that
 * only starts an HTTP server answering /healthz; the ratio is median / floor.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const runs = Number(process.argv[2] ?? 5);
const CLOCK_TICKS = 100;
const scratch = mkdtempSync(join(tmpdir(), 'trustee-startup-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

execFileSync('sh', [join(root, 'deploy/generate-keys.sh'), join(scratch, 'keys')], { stdio: 'ignore' });

/** A deploy/compose config with container paths and compose host names made local. */
function localConfig(file: string, service: string, addresses: Record<string, string>): string {
  let text = readFileSync(join(root, 'deploy/compose', file), 'utf8')
    .replaceAll('/etc/trustee/keys/', `${scratch}/keys/`)
    .replaceAll('/var/lib/trustee/', `${scratch}/${service}-`);
  for (const [from, to] of Object.entries(addresses)) text = text.replaceAll(from, to);
  const path = join(scratch, file);
  writeFileSync(path, text);
  return path;
}

type Runtime = 'compiled' | 'source' | 'floor';

function argv(runtime: Runtime, service: string): string[] {
  if (runtime === 'compiled') return ['--conditions=trustee-compiled', join(root, 'services', service, 'dist/main.js')];
  if (runtime === 'source') return ['--import', 'tsx', join(root, 'services', service, 'src/main.ts')];
  const server = "require('node:http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',function(){console.log('listening on http://127.0.0.1:'+this.address().port)})";
  return ['-e', server];
}

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

function probe(target: string): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, 'deploy/docker/healthcheck.mjs'), target], { stdio: 'ignore' });
    child.on('exit', (code) => done(code === 0));
  });
}

interface Sample {
  listeningMs: number;
  healthyMs: number;
  cpuMs: number;
  address: string;
  child: ChildProcess;
}

/** Starts one process and resolves once its health probe succeeds. */
async function start(runtime: Runtime, service: string, args: string[]): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, [...argv(runtime, service), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const listening = await new Promise<{ at: number; address: string }>((resolveLine, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening (?:grpc )?on (\S+)/.exec(output);
      if (match?.[1] !== undefined) resolveLine({ at: performance.now(), address: match[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${service} exited with ${code}:\n${output}`)));
  });
  const target = /^https?:/.test(listening.address) ? `${listening.address.replace(/\/$/, '')}/healthz` : `grpc://${listening.address}`;
  const floorTarget = runtime === 'floor' ? listening.address : target;
  while (!(await probe(floorTarget))) await new Promise((wait) => setTimeout(wait, 20));
  const healthyMs = performance.now() - started;
  return { listeningMs: listening.at - started, healthyMs, cpuMs: cpuMs(child.pid ?? 0), address: listening.address, child };
}

async function stop(sample: Sample): Promise<void> {
  const exited = new Promise((done) => sample.child.once('exit', done));
  sample.child.kill('SIGTERM');
  await exited;
  children.delete(sample.child);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function measure(runtime: Runtime, service: string, args: () => string[]): Promise<{ listening: number; healthy: number; cpu: number }> {
  const samples: Sample[] = [];
  for (let run = 0; run < runs; run++) {
    const sample = await start(runtime, service, args());
    await stop(sample);
    samples.push(sample);
  }
  return { listening: median(samples.map((s) => s.listeningMs)), healthy: median(samples.map((s) => s.healthyMs)), cpu: median(samples.map((s) => s.cpuMs)) };
}

const rvpsConfig = localConfig('rvps.json', 'rvps', {});
// The dependencies stay up (compiled) while the next service is measured.
const rvps = await start('compiled', 'rvps', ['--config', rvpsConfig, '--address', '127.0.0.1:0']);
const asConfig = localConfig('as-config.json', 'as', { 'http://rvps:50003': `http://${rvps.address}` });
const as = await start('compiled', 'as', ['--config-file', asConfig, '--socket', '127.0.0.1:0']);
const kbsConfig = localConfig('kbs-config.toml', 'kbs', { 'http://as:50004': `http://${as.address}`, '0.0.0.0:8080': '127.0.0.1:0' });

const services: Array<[string, () => string[]]> = [
  ['kbs', () => ['--config-file', kbsConfig]],
  ['as', () => ['--config-file', asConfig, '--socket', '127.0.0.1:0']],
  ['rvps', () => ['--config', rvpsConfig, '--address', '127.0.0.1:0']],
];
const floor = await measure('floor', 'floor', () => []);
console.log(`startup (median of ${runs}; node ${process.version}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
console.log(`  floor (node + http server)   listening ${floor.listening.toFixed(0)} ms, healthy ${floor.healthy.toFixed(0)} ms, cpu ${floor.cpu.toFixed(0)} ms`);
for (const [service, args] of services) {
  for (const runtime of ['compiled', 'source'] as const) {
    const result = await measure(runtime, service, args);
    console.log(
      `  ${service.padEnd(5)} ${runtime.padEnd(9)}              listening ${result.listening.toFixed(0)} ms, healthy ${result.healthy.toFixed(0)} ms, cpu ${result.cpu.toFixed(0)} ms, ${(result.healthy / floor.healthy).toFixed(1)}x floor`,
    );
  }
}
await stop(as);
await stop(rvps);
