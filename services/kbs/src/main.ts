/**
 * The KBS process: `pnpm kbs --config-file F` (or env KBS_CONFIG_FILE), `pnpm start` (= `--dev`).
 *
 * Output contract (the e2e harness relies on it): once every socket accepts connections, one
 * line per socket `listening on http://HOST:PORT` (https:// with TLS) on **stdout**; port 0
 * prints the ephemeral port. Logs (JSON, no secrets) and warnings go to stderr. SIGTERM/SIGINT
 * close the listeners and the store, then exit 0. Startup errors print `error: ...` and exit 1.
 * A store, AS or RVPS that does not answer yet is not a start-up error: the KBS listens and
 * `/readyz` answers 503 until they do (see compose.ts).
 *
 * With `http_server.worker_count = N > 1` (shared Sqlite/LocalFs store required) the process
 * forks N workers through node:cluster; they share the listening sockets (also an ephemeral
 * port) and the store, and the primary prints the `listening on` lines once all are ready.
 */
import 'reflect-metadata';
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { stopOnSignals } from '@trustee/http';
import { createLogger } from '@trustee/log';
import { ConfigError } from '@trustee/config';
import { loadKbsConfig, type KbsConfig } from './config.ts';

const USAGE = `usage: kbs --config-file <kbs-config.toml|.yaml|.json> [--allow-unknown-config]
       kbs --dev [--data-dir ./data]   (development KBS, generates keys and config on first start)
       kbs audit verify|export|prune   (the audit trail; kbs audit --help)
  --allow-unknown-config   unknown config keys are warnings, not errors (configs for a newer upstream)`;

/** Runtime events (warnings, shutdown, worker exits) and every request's failures; usage, `listening on` and start errors are the CLI's own lines. */
const log = createLogger({ level: process.env['KBS_LOG_LEVEL'], service: 'kbs' });

interface ListeningMessage {
  readonly kind: 'listening';
  readonly urls: string[];
}

async function resolveConfig(): Promise<KbsConfig | undefined> {
  const { values } = parseArgs({
    options: {
      'config-file': { type: 'string', short: 'c' },
      dev: { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: './data' },
      'allow-unknown-config': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  let configFile = values['config-file'] ?? process.env['KBS_CONFIG_FILE'];
  if (values.dev) {
    // Only `--dev` needs it (it loads @peculiar/x509): a configured KBS starts without it.
    const { prepareDevEnvironment } = await import('./devSetup.ts');
    const paths = await prepareDevEnvironment(values['data-dir']);
    configFile ??= paths.configFile;
    if (cluster.isPrimary) {
      console.error(`trustee-ts dev KBS
  config:             ${paths.configFile}
  state (SQLite):     ${paths.database}
  admin token:        ${paths.adminToken}
  admin private key:  ${paths.adminPrivateKey}
  admin public key:   ${paths.adminPublicKey}
  token signer key:   ${paths.tokenSignerKey}
  token signer cert:  ${paths.tokenSignerCert}
  operator console:   /console/ on the address below (sign in with the admin token)`);
    }
  }
  if (configFile === undefined) throw new ConfigError(`no configuration: pass --config-file or --dev\n${USAGE}`);
  return loadKbsConfig(configFile, { allowUnknown: values['allow-unknown-config'] });
}

/** Composes and listens; returns the URLs actually bound. */
async function serve(config: KbsConfig): Promise<string[]> {
  // Loaded here, not at the top: a primary that forks workers (worker_count > 1, the default on
  // a multi-core machine) serves nothing itself and so never loads the server (fastify, gRPC,
  // Rego, stores); only the processes that listen pay for it.
  const { composeKbs } = await import('./compose.ts');
  const kbs = await composeKbs(config, {
    log,
    defaultMetrics: true,
    // Start-up work that waited for the store failed for good once it answered: same as a start error.
    onFatal: (error) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  });
  const shutdown = stopOnSignals(log, () => kbs.close(), { announce: cluster.isPrimary });
  // A worker whose primary died must not linger.
  if (cluster.isWorker) process.on('disconnect', () => shutdown('disconnect'));

  const scheme = config.httpServer.insecureHttp ? 'http' : 'https';
  const urls: string[] = [];
  for (const [index, socket] of config.httpServer.sockets.entries()) {
    const app = kbs.apps[index];
    if (app === undefined) continue;
    await app.listen({ host: socket.host, port: socket.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : socket.port;
    const host = socket.host.includes(':') ? `[${socket.host}]` : socket.host;
    urls.push(`${scheme}://${host}:${port}`);
  }
  return urls;
}

async function runPrimary(config: KbsConfig): Promise<void> {
  const workers = Array.from({ length: config.httpServer.workerCount }, () => cluster.fork());
  let stopping = false;
  const ready = new Set<number>();
  for (const worker of workers) {
    worker.on('message', (message: ListeningMessage) => {
      if (message.kind !== 'listening' || ready.has(worker.id)) return;
      ready.add(worker.id);
      if (ready.size === workers.length) for (const url of message.urls) console.log(`listening on ${url}`);
    });
  }
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error(`worker ${worker.id} exited (${code ?? 'signal'}); stopping`);
    stopping = true;
    for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
  });
  const shutdown = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info(`${signal} received, shutting down`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(): Promise<void> {
  if (process.argv[2] === 'audit') {
    const { runAuditCli } = await import('./audit/cli.ts');
    process.exitCode = await runAuditCli(process.argv.slice(3));
    return;
  }
  const config = await resolveConfig();
  if (config === undefined) return;
  if (cluster.isPrimary) for (const warning of config.warnings) log.warn(`${warning.includes('--allow-unknown-config') ? '' : '*** INSECURE CONFIGURATION *** '}${warning}`);
  if (cluster.isPrimary && config.httpServer.workerCount > 1) {
    await runPrimary(config);
    return;
  }
  const urls = await serve(config);
  if (cluster.isWorker) process.send?.({ kind: 'listening', urls } satisfies ListeningMessage);
  else for (const url of urls) console.log(`listening on ${url}`);
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
