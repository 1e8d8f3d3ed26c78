/**
 * The KBS process: `pnpm kbs --config-file F` (or env KBS_CONFIG_FILE), `pnpm start` (= `--dev`).
 *
 * Output contract (the e2e harness relies on it): once every socket accepts connections, one
 * line per socket `listening on http://HOST:PORT` (https:// with TLS) on **stdout**; port 0
 * prints the ephemeral port. Logs (JSON, no secrets) and warnings go to stderr. SIGTERM/SIGINT
 * close the listeners and the store, then exit 0. Startup errors print `error: ...` and exit 1.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { composeKbs } from './compose.ts';
import { loadKbsConfig } from './config.ts';
import { ConfigError } from './configError.ts';
import { prepareDevEnvironment } from './devSetup.ts';

const USAGE = `usage: kbs --config-file <kbs-config.toml>
       kbs --dev [--data-dir ./data]   (development KBS, generates keys and config on first start)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'config-file': { type: 'string', short: 'c' },
      dev: { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: './data' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  let configFile = values['config-file'] ?? process.env['KBS_CONFIG_FILE'];
  if (values.dev) {
    const paths = await prepareDevEnvironment(values['data-dir']);
    configFile ??= paths.configFile;
    console.error(`trustee-ts dev KBS
  config:             ${paths.configFile}
  state (SQLite):     ${paths.database}
  admin token:        ${paths.adminToken}
  admin private key:  ${paths.adminPrivateKey}
  admin public key:   ${paths.adminPublicKey}
  token signer key:   ${paths.tokenSignerKey}
  token signer cert:  ${paths.tokenSignerCert}`);
  }
  if (configFile === undefined) throw new ConfigError(`no configuration: pass --config-file or --dev\n${USAGE}`);

  const config = await loadKbsConfig(configFile);
  for (const warning of config.warnings) console.error(`WARN *** INSECURE CONFIGURATION *** ${warning}`);

  const kbs = await composeKbs(config, { logger: { level: process.env['KBS_LOG_LEVEL'] ?? 'info', stream: process.stderr }, defaultMetrics: true });
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) process.exit(1);
    closing = true;
    console.error(`${signal} received, shutting down`);
    kbs.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`error during shutdown: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const scheme = config.httpServer.insecureHttp ? 'http' : 'https';
  for (const [index, socket] of config.httpServer.sockets.entries()) {
    const app = kbs.apps[index];
    if (app === undefined) continue;
    await app.listen({ host: socket.host, port: socket.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : socket.port;
    const host = socket.host.includes(':') ? `[${socket.host}]` : socket.host;
    console.log(`listening on ${scheme}://${host}:${port}`);
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
