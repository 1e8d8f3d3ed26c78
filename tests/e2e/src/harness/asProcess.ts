/**
 * Starts the attestation service (`services/as/src/main.ts -c F --socket 127.0.0.1:0
 * [--rest-socket 127.0.0.1:0]`) as a real process and parses its output contract:
 * `listening grpc on HOST:PORT` and `listening rest on http://HOST:PORT` on stdout. Like the KBS
 * harness: own process group under coreutils `timeout` (a hard ceiling), one SIGTERM on stop,
 * SIGKILL of the group after a grace period, and an exit hook for anything still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';

export const AS_MAIN = join(REPO_ROOT, 'services/as/src/main.ts');

export interface AsProcess {
  /** gRPC `HOST:PORT`. */
  readonly grpcAddress: string;
  /** REST base URL when `rest` was asked. */
  readonly restUrl: string | undefined;
  output(): string;
  stop(): Promise<number | null>;
}

const PROCESS_CEILING_S = 900;
const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

process.once('exit', () => {
  for (const child of running) killGroup(child);
});

/** Starts the AS with an upstream `as-config.json` value; gRPC (and REST) on ephemeral ports. */
export async function startAs(configJson: unknown, options: { readonly dir: string; readonly rest?: boolean; readonly name?: string }): Promise<AsProcess> {
  const configPath = join(options.dir, `${options.name ?? 'as'}-config.json`);
  writeFileSync(configPath, JSON.stringify(configJson));
  const args = ['--foreground', '-s', 'KILL', String(PROCESS_CEILING_S), process.execPath, '--import', 'tsx', AS_MAIN, '-c', configPath, '--socket', '127.0.0.1:0'];
  if (options.rest === true) args.push('--rest-socket', '127.0.0.1:0');
  const child = spawn('timeout', args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  running.add(child);
  let output = '';
  const exitPromise = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  const addresses = await new Promise<{ grpc: string; rest: string | undefined }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`AS did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const grpc = /listening grpc on (\S+)/.exec(output)?.[1];
      const rest = /listening rest on (\S+)/.exec(output)?.[1];
      if (grpc !== undefined && (options.rest !== true || rest !== undefined)) {
        clearTimeout(timer);
        resolve({ grpc, rest });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exitPromise.then((code) => {
      clearTimeout(timer);
      reject(new Error(`AS exited with code ${String(code)} before listening:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    killGroup(child);
    await exitPromise;
    throw error;
  });
  return {
    grpcAddress: addresses.grpc,
    restUrl: addresses.rest,
    output: () => output,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child), 5000);
      const code = await exitPromise;
      clearTimeout(timer);
      killGroup(child);
      return code;
    },
  };
}
