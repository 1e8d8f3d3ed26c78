/**
 * Runs `evidenceCli.ts serve` as a child process for a test suite: one test PKI per server, its
 * trust anchors and TDX collateral written into `dir`, and `--evidence-command` strings for the
 * kbs-client that ask it for evidence through the fast plain-Node client.
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { runCli, type CliResult } from './cli.ts';
import type { EvidenceTee } from './evidenceFactory.ts';
import { REPO_ROOT } from './paths.ts';

export const EVIDENCE_CLI = join(REPO_ROOT, 'tests/e2e/src/harness/evidenceCli.ts');
export const EVIDENCE_CLIENT = join(REPO_ROOT, 'tests/e2e/fixtures-gen/evidence-client.mjs');

export interface EvidenceServer {
  readonly dir: string;
  readonly amdAnchorsPath: string;
  readonly intelRootsPath: string;
  readonly tdxCollateralPath: string;
  readonly nvidiaRootsPath: string;
  /**
   * A `--evidence-command` (or `--device-evidence-command` for nvidia) for the kbs-client; `force`
   * binds other values than the client asks for, `tamper` flips a signed byte.
   */
  command(tee: EvidenceTee, force?: { readonly reportData?: string; readonly initData?: string; readonly tamper?: boolean; readonly variant?: string }): string;
  /** The `ak_public` claim of the TPM attestation key of `variant` (default: the server's one). */
  akPublic(variant?: string): Promise<string>;
  stop(): Promise<void>;
}

const sh = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export async function startEvidenceServer(dir: string): Promise<EvidenceServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', EVIDENCE_CLI, 'serve', '--anchors-dir', dir, '--idle-exit-s', '900'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`evidence server did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('evidence server ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`evidence server exited before it was ready:\n${output}`));
    });
  });
  return {
    dir,
    amdAnchorsPath: join(dir, 'amd-anchors.pem'),
    intelRootsPath: join(dir, 'intel-roots.pem'),
    tdxCollateralPath: join(dir, 'tdx-collateral.json'),
    nvidiaRootsPath: join(dir, 'nvidia-roots.pem'),
    command(tee, force = {}) {
      const parts = [sh(process.execPath), sh(EVIDENCE_CLIENT), '--tee', tee, '--anchors-dir', sh(dir)];
      if (force.reportData !== undefined) parts.push('--force-report-data', force.reportData);
      if (force.initData !== undefined) parts.push('--force-init-data', force.initData);
      if (force.tamper === true) parts.push('--tamper');
      if (force.variant !== undefined) parts.push('--variant', sh(force.variant));
      return parts.join(' ');
    },
    async akPublic(variant = 'default') {
      const reply = JSON.parse(await askServer(dir, { akPublic: variant })) as { akPublic?: string; error?: string };
      if (reply.akPublic === undefined) throw new Error(`evidence server: ${reply.error ?? 'no akPublic'}`);
      return reply.akPublic;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One request line to the evidence server of `dir`, one reply line back. */
function askServer(dir: string, message: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(join(dir, 'evidence.sock'));
    let data = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify(message)}\n`));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(data));
  });
}

/**
 * Runs the kbs-client CLI as `node --import tsx cli.ts` from the repository (so `--import tsx`
 * resolves; `home` keeps the CLI's admin-token fallback away from the user's): many calls per
 * suite, so the `tsx` wrapper process is skipped.
 */
export function runKbsClient(args: readonly string[], options: { readonly home: string; readonly timeoutMs?: number }): Promise<CliResult> {
  return runCli(args, { cwd: REPO_ROOT, home: options.home, timeoutMs: options.timeoutMs ?? 90_000, nodeImportTsx: true });
}
