/**
 * Starts the KBS as a real process (`node --import tsx services/kbs/src/main.ts --config-file F`,
 * i.e. what the `tsx` CLI runs, minus its signal-relaying wrapper process), waits for its
 * `listening on http://HOST:PORT` line, and guarantees it is gone afterwards: the process runs
 * in its own process group under coreutils `timeout` (a hard ceiling if this test process itself
 * is killed), `stop()` delivers exactly one SIGTERM to the KBS (as Kubernetes does) and SIGKILLs
 * the whole group after a grace period, and an exit hook kills whatever is still registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AS_MAIN, KBS_MAIN, REPO_ROOT, RVPS_MAIN } from './paths.ts';

export interface KbsProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly configPath: string;
  /** Pid of the process group leader (the `timeout` wrapper around the KBS and its workers). */
  readonly groupPid: number | undefined;
  /** Everything the process wrote so far (stdout and stderr interleaved), for failure messages. */
  output(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  /** `kill -9` of the whole process group (a crashed node): no shutdown, connections cut. */
  kill(): Promise<void>;
}

export interface StartKbsOptions {
  /** Directory the config file is written to. */
  readonly dir: string;
  readonly configName?: string;
  readonly startTimeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** More command-line arguments after `--config-file <file>` (e.g. `--allow-unknown-config`). */
  readonly args?: readonly string[];
}

/** Hard ceiling for any KBS process, in seconds, in case this process dies without cleanup. */
const PROCESS_CEILING_S = 900;
const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

/**
 * How services start: their TypeScript sources through tsx (the default), or the JavaScript
 * `pnpm build` compiled into <package>/dist, with plain node and the `trustee-compiled` export
 * condition (what the images and `NODE_ENV=production pnpm kbs` run). Per test file: vitest runs
 * each file in its own process.
 */
let runtime: 'source' | 'compiled' = 'source';

export function useCompiledServices(): void {
  runtime = 'compiled';
}

/** node arguments that run `main` (a services/<name>/src/main.ts path) in the chosen runtime. */
function serviceArgv(main: string): string[] {
  if (runtime === 'source') return ['--import', 'tsx', main];
  return ['--conditions=trustee-compiled', main.replace(/[/\\]src[/\\](\w+)\.ts$/, '/dist/$1.js')];
}

const LISTENING = /listening on (https?:\/\/[^\s"'\\,}]+)/;

export async function startKbs(configToml: string, options: StartKbsOptions): Promise<KbsProcess> {
  const configPath = join(options.dir, options.configName ?? 'kbs-config.toml');
  writeFileSync(configPath, configToml);
  // `--foreground`: timeout relays signals to the KBS only, not to the whole group, so a cluster
  // primary sees one SIGTERM (a second one means "stop now" to it). On the ceiling the KBS is
  // SIGKILLed and its cluster workers stop on the IPC disconnect.
  const args = ['--foreground', '-s', 'KILL', String(PROCESS_CEILING_S), process.execPath, ...serviceArgv(KBS_MAIN), '--config-file', configPath, ...(options.args ?? [])];
  const child = spawn('timeout', args, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  running.add(child);
  let output = '';
  let exited = false;
  const exitPromise = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exited = true;
      running.delete(child);
      resolve(code);
    });
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`KBS did not print "listening on" within ${options.startTimeoutMs ?? 30_000} ms:\n${output}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = LISTENING.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ''));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exitPromise.then((code) => {
      clearTimeout(timer);
      reject(new Error(`KBS exited with code ${String(code)} before listening:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    killGroup(child, 'SIGKILL');
    await exitPromise;
    throw error;
  });

  return {
    url,
    configPath,
    groupPid: child.pid,
    output: () => output,
    alive: () => !exited,
    async kill() {
      killGroup(child, 'SIGKILL');
      await exitPromise;
    },
    async stop(graceMs = 5000) {
      if (exited) return exitPromise;
      // Only the `timeout` wrapper gets SIGTERM; it relays it once to the KBS.
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      const code = await exitPromise;
      clearTimeout(timer);
      // Cluster workers may outlive the primary for a moment; make sure the group is empty.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
      return code;
    },
  };
}

/** Starts a KBS that is expected NOT to come up; resolves with its exit code and output. */
export async function expectKbsStartFailure(configToml: string, options: StartKbsOptions): Promise<{ code: number | null; output: string }> {
  try {
    const kbs = await startKbs(configToml, { ...options, startTimeoutMs: options.startTimeoutMs ?? 20_000 });
    const output = kbs.output();
    await kbs.stop();
    throw new Error(`KBS started although it should have refused the config:\n${output}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const match = /exited with code (\S+) before listening:\n([\s\S]*)$/.exec(message);
    if (match === null) throw error;
    return { code: match[1] === 'null' ? null : Number(match[1]), output: match[2] ?? '' };
  }
}

export interface GrpcServiceProcess {
  /** gRPC `HOST:PORT`. */
  readonly grpcAddress: string;
  /** REST base URL. */
  readonly restUrl: string;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts a service that prints `listening grpc on HOST:PORT` and `listening rest on URL`
 * (services/rvps, services/as), under the same process rules as the KBS.
 */
async function startGrpcService(main: string, args: readonly string[], name: string): Promise<GrpcServiceProcess> {
  const argv = ['--foreground', '-s', 'KILL', String(PROCESS_CEILING_S), process.execPath, ...serviceArgv(main), ...args];
  const child = spawn('timeout', argv, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  running.add(child);
  let output = '';
  const exitPromise = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  const addresses = await new Promise<{ grpc: string; rest: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const grpc = /listening grpc on (\S+)/.exec(output)?.[1];
      const rest = /listening rest on (\S+)/.exec(output)?.[1];
      if (grpc !== undefined && rest !== undefined) {
        clearTimeout(timer);
        resolve({ grpc, rest });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exitPromise.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${String(code)} before listening:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    killGroup(child, 'SIGKILL');
    await exitPromise;
    throw error;
  });
  return {
    grpcAddress: addresses.grpc,
    restUrl: addresses.rest,
    output: () => output,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      const code = await exitPromise;
      clearTimeout(timer);
      return code;
    },
  };
}

export type RvpsProcess = GrpcServiceProcess;
export type AsProcess = GrpcServiceProcess;

/** Starts `services/rvps` with a JSON config, gRPC and REST on ephemeral ports. */
export function startRvps(configJson: unknown, options: { readonly dir: string }): Promise<RvpsProcess> {
  const configPath = join(options.dir, 'rvps.json');
  writeFileSync(configPath, JSON.stringify(configJson));
  return startGrpcService(RVPS_MAIN, ['-c', configPath, '-a', '127.0.0.1:0', '--rest-address', '127.0.0.1:0'], 'RVPS');
}

/** Starts `services/as` (upstream grpc-as + restful-as) with an as-config.json, ephemeral ports (or gRPC on `grpcPort`). */
export function startAs(configJson: unknown, options: { readonly dir: string; readonly configName?: string; readonly grpcPort?: number }): Promise<AsProcess> {
  const configPath = join(options.dir, options.configName ?? 'as-config.json');
  writeFileSync(configPath, JSON.stringify(configJson));
  return startGrpcService(AS_MAIN, ['--config-file', configPath, '--socket', `127.0.0.1:${options.grpcPort ?? 0}`, '--rest-socket', '127.0.0.1:0'], 'AS');
}
