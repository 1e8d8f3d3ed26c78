/**
 * The RVPS process: `pnpm rvps [-c rvps.json] [-a HOST:PORT] [--rest-address HOST:PORT]
 * [--tls-cert cert.pem --tls-key key.pem]`.
 *
 * Output contract: once the sockets accept connections, `listening grpc on HOST:PORT` and (with
 * `--rest-address`) `listening rest on http(s)://HOST:PORT` on stdout; port 0 prints the
 * ephemeral port. Warnings and JSON logs go to stderr. SIGTERM/SIGINT stop both servers and
 * close the store, then exit 0. Startup errors print `error: ...` and exit 1.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatSocketAddress, parseSocketAddress } from './address.ts';
import { composeRvps } from './compose.ts';
import { DEFAULT_CONFIG_PATH, loadRvpsConfig } from './config.ts';
import { bindGrpcServer, type TlsFiles } from './grpcServer.ts';
import { stopOnSignals } from '@trustee/http';
import { createLogger } from '@trustee/log';

export const DEFAULT_GRPC_ADDRESS = '127.0.0.1:50003';

const USAGE = `usage: rvps [-c|--config <rvps.json>] [-a|--address HOST:PORT] [--rest-address HOST:PORT] [--tls-cert PEM --tls-key PEM]
  -c, --config        config file, JSON/TOML/YAML by extension (default ${DEFAULT_CONFIG_PATH}; missing → defaults, SQLite at ./data/rvps.sqlite)
  -a, --address       gRPC listen address (default ${DEFAULT_GRPC_ADDRESS})
      --rest-address  also serve the REST API (and /metrics, /healthz) here
      --tls-cert/--tls-key  serve both with TLS
      --allow-unknown-config  unknown config keys are warnings, not errors (configs for a newer upstream)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c', default: DEFAULT_CONFIG_PATH },
      address: { type: 'string', short: 'a', default: DEFAULT_GRPC_ADDRESS },
      'rest-address': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'allow-unknown-config': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const grpcAddress = parseSocketAddress(values.address, '--address');
  const restAddress = values['rest-address'] === undefined ? undefined : parseSocketAddress(values['rest-address'], '--rest-address');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const tls: TlsFiles | undefined =
    values['tls-cert'] === undefined || values['tls-key'] === undefined
      ? undefined
      : { cert: await readFile(values['tls-cert']), key: await readFile(values['tls-key']) };

  const { config, warnings } = await loadRvpsConfig(values.config, { allowUnknown: values['allow-unknown-config'] });
  const log = createLogger({ level: process.env['RVPS_LOG_LEVEL'], service: 'rvps' });
  for (const warning of warnings) log.warn(warning);
  const rvps = await composeRvps(config, { log, defaultMetrics: true, ...(tls === undefined ? {} : { tls }) });

  stopOnSignals(log, () => rvps.close());

  const grpcPort = await bindGrpcServer(rvps.grpcServer, grpcAddress.host, grpcAddress.port, tls);
  console.log(`listening grpc on ${formatSocketAddress(grpcAddress.host, grpcPort)}${tls === undefined ? '' : ' (tls)'}`);
  if (restAddress !== undefined) {
    await rvps.restServer.listen({ host: restAddress.host, port: restAddress.port });
    const bound = rvps.restServer.server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : restAddress.port;
    console.log(`listening rest on ${tls === undefined ? 'http' : 'https'}://${formatSocketAddress(restAddress.host, port)}`);
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
