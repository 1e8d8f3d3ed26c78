/**
 * Test-evidence generator for `kbs-client --evidence-command` (and by hand):
 *
 *   tsx tests/e2e/src/harness/evidenceCli.ts --tee snp|tdx|az-snp-vtpm|az-tdx-vtpm|sgx|tpm|nvidia --anchors-dir DIR REPORT_DATA_HEX [INIT_DATA_DIGEST_HEX]
 *
 * prints guest-format evidence JSON bound to the report data (and the init-data digest as SNP
 * HOST_DATA / TDX MRCONFIGID / vTPM PCR8), signed by the test PKI of DIR. The PKI lives in an
 * evidence server process per DIR (private keys never touch the disk); the server writes the
 * trust anchors and TDX collateral into DIR when it starts (`amd-anchors.pem`,
 * `intel-roots.pem`, `tdx-collateral.json`) so a KBS can be configured to trust exactly it.
 *
 *   evidenceCli.ts serve --anchors-dir DIR [--idle-exit-s N]   run the server in the foreground
 *   evidenceCli.ts stop --anchors-dir DIR                       stop DIR's server
 *
 * Without a running server and with an empty DIR, the generator starts one in the background
 * (it exits after --idle-exit-s, default 300 s, without requests). A DIR whose anchors outlived
 * their server is refused: its PKI is gone. `--force-report-data HEX` / `--force-init-data HEX`
 * bind other values than the arguments (negative tests). Only imports `node:` modules until it
 * serves, so a request costs a process start and a socket round trip.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { errorClassWithCode } from '@trustee/errors';

const SOCKET_NAME = 'evidence.sock';
const ANCHOR_MARKER = 'amd-anchors.pem';
const MAX_LINE_BYTES = 64 * 1024;
const HEX = /^(?:[0-9a-fA-F]{2}){1,128}$/;

interface EvidenceRequest {
  readonly tee: string;
  readonly reportData: string;
  readonly initDataDigest?: string;
  /** Change a signed byte after signing (nvidia, sgx, tpm). */
  readonly tamper?: boolean;
  /** sgx: another enclave; tpm: another attestation key (see EvidenceOptions). */
  readonly variant?: string;
}

class CliError extends errorClassWithCode('cli_failed') {}

function socketPath(dir: string): string {
  return join(dir, SOCKET_NAME);
}

function hexArg(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!HEX.test(value)) throw new CliError(`${what} must be 1..128 bytes of hex, got ${JSON.stringify(value.slice(0, 40))}`);
  return value.toLowerCase();
}

/** Sends one request line and resolves the one response line. */
function ask(dir: string, message: object): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = createConnection(socketPath(dir));
    let data = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify(message)}\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.length > 16 * 1024 * 1024) socket.destroy(new CliError('response too large'));
    });
    socket.once('error', reject);
    socket.once('close', () => resolvePromise(data));
  });
}

async function serverUp(dir: string): Promise<boolean> {
  try {
    return (await ask(dir, { ping: true })).startsWith('{"pong"');
  } catch {
    return false;
  }
}

async function ensureServer(dir: string, idleExitS: number): Promise<void> {
  if (await serverUp(dir)) return;
  if (existsSync(join(dir, ANCHOR_MARKER))) {
    throw new CliError(`the evidence server of ${dir} is gone and its PKI with it; use a fresh --anchors-dir (or start \`serve\` before configuring the KBS)`);
  }
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve', '--anchors-dir', dir, '--idle-exit-s', String(idleExitS)], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (await serverUp(dir)) return;
  }
  throw new CliError(`the evidence server for ${dir} did not start within 60 s`);
}

async function serve(dir: string, idleExitS: number): Promise<void> {
  // Heavy imports only here: the client path stays fast.
  const { createEvidenceFactory, isEvidenceTee } = await import('./evidenceFactory.ts');
  mkdirSync(dir, { recursive: true });
  const factory = await createEvidenceFactory();
  const files = await factory.writeAnchors(dir);
  rmSync(socketPath(dir), { force: true });

  let idleTimer: NodeJS.Timeout | undefined;
  const server = createServer((socket: Socket) => {
    armIdle();
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_LINE_BYTES) return void socket.destroy();
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      void answer(buffer.slice(0, end)).then((reply) => socket.end(`${reply}\n`));
    });
    socket.on('error', () => socket.destroy());
  });

  async function answer(line: string): Promise<string> {
    try {
      const request = JSON.parse(line) as Partial<EvidenceRequest> & { ping?: boolean; stop?: boolean; akPublic?: string };
      if (request.ping === true) return JSON.stringify({ pong: files });
      if (typeof request.akPublic === 'string') return JSON.stringify({ akPublic: factory.akPublic(request.akPublic) });
      if (request.stop === true) {
        setImmediate(shutdown);
        return JSON.stringify({ stopped: true });
      }
      if (!isEvidenceTee(request.tee)) throw new CliError(`unsupported tee ${JSON.stringify(request.tee)}`);
      const reportData = hexArg(request.reportData, 'reportData');
      if (reportData === undefined) throw new CliError('reportData is required');
      const init = hexArg(request.initDataDigest, 'initDataDigest');
      const evidence = await factory.evidence(request.tee, Buffer.from(reportData, 'hex'), {
        initDataDigest: init === undefined ? undefined : Buffer.from(init, 'hex'),
        tamper: request.tamper === true,
        variant: typeof request.variant === 'string' ? request.variant : undefined,
      });
      return JSON.stringify({ evidence });
    } catch (error) {
      return JSON.stringify({ error: (error as Error).message });
    }
  }

  function armIdle(): void {
    if (idleExitS <= 0) return;
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = setTimeout(shutdown, idleExitS * 1000);
    idleTimer.unref();
  }

  function shutdown(): void {
    server.close();
    rmSync(socketPath(dir), { force: true });
    process.exit(0);
  }

  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await new Promise<void>((r) => server.listen(socketPath(dir), r));
  armIdle();
  process.stdout.write(`evidence server ready on ${socketPath(dir)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tee: { type: 'string' },
      'anchors-dir': { type: 'string' },
      'idle-exit-s': { type: 'string' },
      'force-report-data': { type: 'string' },
      'force-init-data': { type: 'string' },
    },
  });
  if (values['anchors-dir'] === undefined) throw new CliError('--anchors-dir DIR is required');
  const dir = resolve(values['anchors-dir']);
  const idleExitS = values['idle-exit-s'] === undefined ? 300 : Number(values['idle-exit-s']);
  if (!Number.isInteger(idleExitS) || idleExitS < 0) throw new CliError('--idle-exit-s must be a non-negative integer');

  if (positionals[0] === 'serve') {
    await serve(dir, idleExitS);
    return -1;
  }
  if (positionals[0] === 'stop') {
    if (await serverUp(dir)) await ask(dir, { stop: true });
    return 0;
  }
  if (values.tee === undefined) throw new CliError('--tee is required (snp, tdx, az-snp-vtpm, az-tdx-vtpm, sgx, tpm, nvidia)');
  const reportData = hexArg(values['force-report-data'], '--force-report-data') ?? hexArg(positionals[0] ?? process.env.KBS_REPORT_DATA, 'REPORT_DATA_HEX');
  if (reportData === undefined) throw new CliError('REPORT_DATA_HEX ($1 or KBS_REPORT_DATA) is required');
  const initDataDigest = hexArg(values['force-init-data'], '--force-init-data') ?? hexArg(positionals[1] ?? process.env.KBS_INIT_DATA_DIGEST, 'INIT_DATA_DIGEST_HEX');

  await ensureServer(dir, idleExitS);
  const reply = JSON.parse(await ask(dir, { tee: values.tee, reportData, ...(initDataDigest === undefined ? {} : { initDataDigest }) })) as { evidence?: unknown; error?: string };
  if (reply.error !== undefined || reply.evidence === undefined) throw new CliError(`evidence server: ${reply.error ?? 'empty reply'}`);
  process.stdout.write(`${JSON.stringify(reply.evidence)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`evidenceCli: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof CliError ? 2 : 1;
  },
);
