/**
 * `rvps-tool` (upstream trustee `rvps/src/bin/rvps-tool.rs`) over gRPC: `register -a ADDR -p
 * message.json`, `query -a ADDR -r ID`, plus trustee-ts's admin `list` and `delete -r ID` (admin
 * token read from `--token-file`, so it never shows in `ps`). ADDR: `http://host:port` (default
 * `http://127.0.0.1:50003`), `https://host:port` (with `--ca-cert`), or bare `host:port`.
 *
 *   pnpm exec tsx services/rvps/src/tool.ts query -r svn
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ReferenceValueProviderServiceClient, type ReferenceValueDeleteResponse, type ReferenceValueListResponse, type ReferenceValueQueryResponse } from '@trustee/grpc';

export const DEFAULT_TOOL_ADDRESS = 'http://127.0.0.1:50003';
const DEADLINE_MS = 30_000;

const USAGE = `usage: rvps-tool register [-a ADDR] -p <message.json>
       rvps-tool query    [-a ADDR] -r <reference-value-id>
       rvps-tool list     [-a ADDR] --token-file <jwt file>
       rvps-tool delete   [-a ADDR] -r <reference-value-id> --token-file <jwt file>
  -a, --addr      RVPS gRPC address (default ${DEFAULT_TOOL_ADDRESS}); https:// needs --ca-cert
      --ca-cert   PEM CA bundle for https://`;

export interface ToolIo {
  out(line: string): void;
  err(line: string): void;
}

type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, value: unknown) => void) => void;

function connect(address: string, caCert: Buffer | undefined): InstanceType<typeof ReferenceValueProviderServiceClient> {
  const match = /^(?:(https?):\/\/)?([^/]+?)\/?$/.exec(address);
  if (match === null || match[2] === undefined) throw new Error(`--addr: expected http(s)://host:port or host:port, got ${JSON.stringify(address)}`);
  if (match[1] === 'https' && caCert === undefined) throw new Error('--addr https:// needs --ca-cert');
  const credentials = match[1] === 'https' ? grpc.credentials.createSsl(caCert) : grpc.credentials.createInsecure();
  return new ReferenceValueProviderServiceClient(match[2], credentials);
}

function call<T>(client: grpc.Client, method: string, request: unknown, token: string | undefined): Promise<T> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  const fn = (client as unknown as Record<string, Unary>)[method] as Unary;
  return new Promise((resolve, reject) =>
    fn.call(client, request, metadata, { deadline: Date.now() + DEADLINE_MS }, (error, value) => (error === null ? resolve(value as T) : reject(error))),
  );
}

/** Runs one command; resolves the process exit code. */
export async function runTool(argv: readonly string[], io: ToolIo): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      addr: { type: 'string', short: 'a', default: DEFAULT_TOOL_ADDRESS },
      path: { type: 'string', short: 'p' },
      'reference-value-id': { type: 'string', short: 'r' },
      'token-file': { type: 'string' },
      'ca-cert': { type: 'string' },
    },
    strict: true,
  });
  const needs = (name: 'path' | 'reference-value-id' | 'token-file'): string => {
    const value = values[name];
    if (value === undefined) throw new Error(`${command ?? ''}: --${name} is required\n${USAGE}`);
    return value;
  };
  if (command !== 'register' && command !== 'query' && command !== 'list' && command !== 'delete') {
    io.err(USAGE);
    return 2;
  }
  const caCert = values['ca-cert'] === undefined ? undefined : await readFile(values['ca-cert']);
  const token = command === 'list' || command === 'delete' ? (await readFile(needs('token-file'), 'utf8')).trim() : undefined;
  const message = command === 'register' ? await readFile(needs('path'), 'utf8') : undefined;
  const id = command === 'query' || command === 'delete' ? needs('reference-value-id') : undefined;
  const client = connect(values.addr, caCert);
  try {
    switch (command) {
      case 'register':
        await call(client, 'RegisterReferenceValue', { message }, undefined);
        io.out('Register provenance succeeded.');
        return 0;
      case 'query': {
        const response = await call<ReferenceValueQueryResponse>(client, 'QueryReferenceValue', { reference_value_id: id }, undefined);
        io.out(response.reference_value_results ?? 'No reference values found for the given id');
        return 0;
      }
      case 'list': {
        const response = await call<ReferenceValueListResponse>(client, 'ListReferenceValues', {}, token);
        io.out(JSON.stringify(response.reference_values.map((text) => JSON.parse(text) as unknown), null, 2));
        return 0;
      }
      case 'delete': {
        const response = await call<ReferenceValueDeleteResponse>(client, 'DeleteReferenceValue', { reference_value_id: id }, token);
        io.out(response.deleted ? `Deleted ${id ?? ''}` : `No reference value ${id ?? ''}`);
        return response.deleted ? 0 : 1;
      }
    }
  } catch (error) {
    const status = error as Partial<grpc.ServiceError>;
    io.err(`error: ${status.code === undefined ? String(error) : `${grpc.status[status.code] ?? status.code}: ${status.details ?? ''}`}`);
    return 1;
  } finally {
    client.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runTool(process.argv.slice(2), { out: (line) => console.log(line), err: (line) => console.error(line) }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
