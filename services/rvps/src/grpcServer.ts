/**
 * gRPC transport: `reference.ReferenceValueProviderService` (upstream's Register/Query plus
 * trustee-ts's admin-only List/Delete) and `grpc.health.v1.Health` (NOT_SERVING while the store
 * does not answer), on one grpc-js server.
 * Query answers an unknown or expired id with the optional field absent, as upstream does.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  callerRequestId,
  healthCheckHandler,
  healthServiceDefinition,
  Readiness,
  referenceValueServiceDefinition,
  type ReferenceValueDeleteRequest,
  type ReferenceValueDeleteResponse,
  type ReferenceValueListResponse,
  type ReferenceValueQueryRequest,
  type ReferenceValueQueryResponse,
  type ReferenceValueRegisterRequest,
} from '@trustee/grpc';
import { logFailure, toRvpsError } from './errors.ts';
import { silentLogger, type Logger } from '@trustee/log';
import type { Operation, RvpsMetrics } from './metrics.ts';
import type { ReferenceValueOperations } from './referenceValues.ts';

export const REFERENCE_VALUE_SERVICE_NAME = 'reference.ReferenceValueProviderService';
/** Same cap as upstream (tonic's default 4 MiB) — registration messages carry whole RIMs/CoRIMs. */
export const MAX_GRPC_MESSAGE_BYTES = 4 * 1024 * 1024;

type Empty = Record<string, never>;

function authorizationOf(metadata: grpc.Metadata): string | undefined {
  const [value] = metadata.get('authorization');
  return typeof value === 'string' ? value : undefined;
}

/** Builds the server; the caller binds it (see `bindGrpcServer`). */
export function createGrpcServer(deps: { operations: ReferenceValueOperations; metrics?: RvpsMetrics; log?: Logger; readiness?: Readiness }): grpc.Server {
  const { operations, metrics } = deps;
  const log = deps.log ?? silentLogger;

  function unary<Req, Res>(operation: Operation, handler: (request: Req, metadata: grpc.Metadata) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      handler(call.request, call.metadata).then(
        (response) => {
          metrics?.observe('grpc', operation, 'ok', seconds());
          callback(null, response);
        },
        (caught: unknown) => {
          // The caller's id (an AS's `x-request-id`, packages/rvps/src/grpcRvpsClient.ts) when it
          // sent a usable one, so the failure is found under the same id in both logs.
          const requestId = callerRequestId(call.metadata) ?? randomUUID();
          const error = toRvpsError(caught, requestId);
          metrics?.observe('grpc', operation, error.code, seconds());
          logFailure(log.child({ reqId: requestId }), 'grpc', operation, error, caught);
          callback({ code: error.grpcStatus, details: error.message });
        },
      );
    };
  }

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
  });
  server.addService(referenceValueServiceDefinition, {
    RegisterReferenceValue: unary<ReferenceValueRegisterRequest, Empty>('register', async (request, metadata) => {
      await operations.register(request.message, authorizationOf(metadata));
      return {};
    }),
    QueryReferenceValue: unary<ReferenceValueQueryRequest, ReferenceValueQueryResponse>('query', async (request) => {
      const value = await operations.query(request.reference_value_id);
      return value === undefined ? {} : { reference_value_results: JSON.stringify(value) };
    }),
    ListReferenceValues: unary<Empty, ReferenceValueListResponse>('list', async (_request, metadata) => {
      const records = await operations.list(authorizationOf(metadata));
      return { reference_values: records.map((record) => JSON.stringify({ name: record.name, expiration: record.expiration, value: record.value })) };
    }),
    DeleteReferenceValue: unary<ReferenceValueDeleteRequest, ReferenceValueDeleteResponse>('delete', async (request, metadata) => {
      return { deleted: await operations.delete(request.reference_value_id, authorizationOf(metadata)) };
    }),
  });
  // SERVING while the store answers, NOT_SERVING otherwise (compose.ts builds the readiness).
  server.addService(healthServiceDefinition, {
    Check: healthCheckHandler(['', REFERENCE_VALUE_SERVICE_NAME], deps.readiness ?? new Readiness(), (status) => metrics?.observe('grpc', 'health', status === 'SERVING' ? 'ok' : 'unavailable', 0)),
  });
  return server;
}

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Binds `host:port` (port 0 → ephemeral) and resolves the bound port. */
export function bindGrpcServer(server: grpc.Server, host: string, port: number, tls?: TlsFiles): Promise<number> {
  const credentials = tls === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false);
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (error, boundPort) => (error === null ? resolve(boundPort) : reject(error)));
  });
}
