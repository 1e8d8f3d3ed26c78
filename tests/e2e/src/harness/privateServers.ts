/**
 * Private PostgreSQL and Redis servers for fault tests: the shared servers on 5432/6379 serve
 * other test files (and other people's) at the same time and must never be stopped, so a test
 * that stops its database gets its own. PostgreSQL: a throw-away cluster of the installed major
 * version (`pg_createcluster` … `pg_dropcluster`, trust auth on 127.0.0.1, root only); Redis: a
 * `redis-server` child process on its own port, nothing persisted.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Why private servers cannot be made here, or undefined when they can. */
export function privateServersUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'private PostgreSQL clusters need root (pg_createcluster)';
  for (const tool of ['/usr/bin/pg_createcluster', '/usr/bin/pg_ctlcluster', '/usr/bin/pg_dropcluster', '/usr/bin/redis-server']) {
    if (!existsSync(tool)) return `${tool} is not installed (postgresql-common, redis-server)`;
  }
  if (postgresMajor() === undefined) return 'no PostgreSQL major version under /etc/postgresql';
  return undefined;
}

function postgresMajor(): string | undefined {
  try {
    return readdirSync('/etc/postgresql').sort().at(-1);
  } catch {
    return undefined;
  }
}

export interface PrivatePostgres {
  readonly port: number;
  /** `postgresql://postgres@127.0.0.1:PORT/postgres` (trust auth). */
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and removes the cluster (data directory, config, logs). */
  drop(): Promise<void>;
}

/** Creates and starts a throw-away cluster on a free port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const major = postgresMajor();
  if (major === undefined) throw new Error('no PostgreSQL installation under /etc/postgresql');
  const name = `trustee_fault_${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  // --no-sync: a test cluster does not need initdb's fsyncs (minutes on a busy disk).
  await run('pg_createcluster', [major, name, '--port', String(port), '--', '--auth=trust', '--no-sync'], { timeout: 180_000 });
  const ctl = async (action: string, ...extra: string[]): Promise<void> => {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', major, name, action, ...extra], { timeout: 120_000 });
  };
  const cluster: PrivatePostgres = {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    // Fast shutdown: connections are cut at once, as when the database host goes away.
    stop: () => ctl('stop', '-m', 'fast'),
    start: () => ctl('start'),
    async drop() {
      await run('pg_dropcluster', ['--stop', major, name], { timeout: 120_000 }).catch(() => undefined);
    },
  };
  try {
    await cluster.start();
  } catch (error) {
    await cluster.drop();
    throw error;
  }
  return cluster;
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL (a crash: nothing is persisted, every key is gone). */
  kill(): Promise<void>;
  /** A fresh server on the same port. */
  start(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const process_ = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = process_;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 20_000);
      process_.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      process_.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${String(code)}):\n${output}`));
      });
    });
  };
  const kill = async (): Promise<void> => {
    const current = child;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGKILL');
    await exited;
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, kill, start };
}
