/**
 * `pnpm as [serve] --config-file F --socket HOST:PORT [--rest-socket HOST:PORT] [-t CERT -k KEY]`:
 * the long-running service. Flags are upstream's grpc-as/restful-as ones; `--rest-socket` adds
 * the REST API next to gRPC (or alone, when `--socket` is not given).
 *
 * Output contract: once every listener accepts connections, `listening grpc on HOST:PORT` and/or
 * `listening rest on http://HOST:PORT` (https:// with TLS) on stdout, with the actual port when 0
 * was asked. Logs go to stderr as JSON lines. SIGTERM/SIGINT stop the listeners and exit 0.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { composeAs, type ComposedAs } from './compose.ts';
import { ConfigError, loadAsConfig } from './config.ts';
import { bindGrpc, createAsGrpcServer } from './grpcServer.ts';
import { createLogger } from '@trustee/log';
import { buildAsRestServer } from './restServer.ts';
import { UsageError } from '@trustee/errors';

export const SERVE_USAGE = `usage: as [--config-file <as-config.json>] [--socket <HOST:PORT>] [--rest-socket <HOST:PORT>]
          [--https-pubkey-cert <cert.pem> --https-prikey <key.pem>]
  -c, --config-file        upstream as-config.json, or .toml/.yaml (absent: in-memory defaults)
      --allow-unknown-config   unknown config keys are warnings, not errors (configs for a newer upstream)
  -s, --socket             gRPC listen address (default 127.0.0.1:3000 unless only --rest-socket is given)
      --rest-socket        REST listen address
  -r, --allowed_origin     CORS origin for REST (repeatable or comma-separated, http:// or https://)
  -t, --https-pubkey-cert  PEM certificate chain for TLS on both listeners (with -k)
  -k, --https-prikey       PEM private key for TLS on both listeners (with -t)
other commands:
  as verify --tee <tee> --evidence <file> [...]       verify evidence offline (as verify --help)
  as collateral export|import --config-file F ...     offline collateral bundles (as collateral --help)`;

export const DEFAULT_GRPC_SOCKET = '127.0.0.1:3000';

export interface ServeArgs {
  readonly configFile?: string;
  readonly grpcSocket?: string;
  readonly restSocket?: string;
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  readonly allowedOrigins?: readonly string[];
  readonly allowUnknownConfig?: boolean;
}


export function parseServeArgs(argv: readonly string[]): ServeArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'config-file': { type: 'string', short: 'c' },
        socket: { type: 'string', short: 's' },
        'rest-socket': { type: 'string' },
        'https-pubkey-cert': { type: 'string', short: 't' },
        'https-prikey': { type: 'string', short: 'k' },
        allowed_origin: { type: 'string', short: 'r', multiple: true },
        'allow-unknown-config': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${SERVE_USAGE}`);
  }
  if (values.help) return 'help';
  const cert = values['https-pubkey-cert'];
  const key = values['https-prikey'];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--https-pubkey-cert and --https-prikey must be given together (or neither)');
  const restSocket = values['rest-socket'];
  const grpcSocket = values.socket ?? (restSocket === undefined ? DEFAULT_GRPC_SOCKET : undefined);
  for (const socket of [grpcSocket, restSocket]) if (socket !== undefined) splitSocket(socket);
  const allowedOrigins = (values.allowed_origin ?? []).flatMap((value) => value.split(',')).map((origin) => origin.trim()).filter((origin) => origin !== '');
  for (const origin of allowedOrigins) {
    if (!/^https?:\/\//.test(origin)) throw new UsageError(`--allowed_origin ${JSON.stringify(origin)}: must start with http:// or https://`);
  }
  return {
    ...(values['config-file'] === undefined ? {} : { configFile: values['config-file'] }),
    ...(grpcSocket === undefined ? {} : { grpcSocket }),
    ...(restSocket === undefined ? {} : { restSocket }),
    ...(cert === undefined || key === undefined ? {} : { tls: { certPath: cert, keyPath: key } }),
    ...(allowedOrigins.length === 0 ? {} : { allowedOrigins }),
    ...(values['allow-unknown-config'] ? { allowUnknownConfig: true } : {}),
  };
}

/** `HOST:PORT` or `[IPv6]:PORT` → parts. */
export function splitSocket(socket: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(socket);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || port > 65535) throw new UsageError(`invalid socket ${JSON.stringify(socket)}: expected HOST:PORT`);
  return { host: (match[1] ?? match[2]) as string, port };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export interface RunningAs {
  readonly composed: ComposedAs;
  readonly grpc?: { readonly server: grpc.Server; readonly address: string };
  readonly rest?: { readonly app: FastifyInstance; readonly url: string };
  close(): Promise<void>;
}

/** Starts the listeners a `ServeArgs` asks for over an already-composed service. */
export async function startListeners(composed: ComposedAs, args: ServeArgs): Promise<RunningAs> {
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (args.tls !== undefined) {
    const { certPath, keyPath } = args.tls;
    tls = {
      cert: await readFile(certPath).catch(() => {
        throw new ConfigError(`--https-pubkey-cert: cannot read ${certPath}`);
      }),
      key: await readFile(keyPath).catch(() => {
        throw new ConfigError(`--https-prikey: cannot read ${keyPath}`);
      }),
    };
  }
  let grpcPart: RunningAs['grpc'];
  let restPart: RunningAs['rest'];
  if (args.grpcSocket !== undefined) {
    const { host } = splitSocket(args.grpcSocket);
    const server = createAsGrpcServer(composed);
    const credentials = tls === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false);
    const port = await bindGrpc(server, args.grpcSocket, credentials);
    grpcPart = { server, address: `${formatHost(host)}:${port}` };
  }
  if (args.restSocket !== undefined) {
    const { host, port } = splitSocket(args.restSocket);
    const app = buildAsRestServer(composed, { ...(tls === undefined ? {} : { https: tls }), ...(args.allowedOrigins === undefined ? {} : { allowedOrigins: args.allowedOrigins }) });
    await app.listen({ host, port });
    const address = app.server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    restPart = { app, url: `${tls === undefined ? 'http' : 'https'}://${formatHost(host)}:${bound}` };
  }
  return {
    composed,
    ...(grpcPart === undefined ? {} : { grpc: grpcPart }),
    ...(restPart === undefined ? {} : { rest: restPart }),
    async close() {
      if (grpcPart !== undefined) {
        const server = grpcPart.server;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 5000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (restPart !== undefined) await restPart.app.close();
      await composed.close();
    },
  };
}

/** The process: compose, listen, print the listening lines, stop on SIGTERM/SIGINT. */
export async function runServe(argv: readonly string[]): Promise<number> {
  const args = parseServeArgs(argv);
  if (args === 'help') {
    console.log(SERVE_USAGE);
    return 0;
  }
  const log = createLogger({ level: process.env['AS_LOG_LEVEL'], service: 'as' });
  const config = await loadAsConfig(args.configFile, { allowUnknown: args.allowUnknownConfig === true });
  for (const warning of config.warnings) log.warn(warning);
  const composed = await composeAs(config, {
    log,
    defaultMetrics: true,
    // Start-up that waited for the store failed for good once it answered: a start error after all.
    onFatal: (error) => {
      console.error(`error: ${(error as Error).message}`);
      process.exit(1);
    },
  });
  let running: RunningAs;
  try {
    running = await startListeners(composed, args);
  } catch (error) {
    await composed.close();
    throw error;
  }
  if (running.grpc !== undefined) console.log(`listening grpc on ${running.grpc.address}`);
  if (running.rest !== undefined) console.log(`listening rest on ${running.rest.url}`);
  return new Promise<number>((resolve) => {
    let closing = false;
    const shutdown = (signal: string): void => {
      if (closing) return;
      closing = true;
      log.info(`${signal} received, shutting down`);
      running.close().then(
        () => resolve(0),
        (error: unknown) => {
          log.error(`error during shutdown: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
