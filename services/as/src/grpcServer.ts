/**
 * The gRPC transport: `attestation.AttestationService` (upstream's three RPCs plus our
 * get/list/delete policy), `reference.ReferenceValueProviderService` proxied to the configured
 * RVPS, and `grpc.health.v1.Health` (SERVING while every dependency answers, NOT_SERVING
 * otherwise: see compose.ts), all on one server like upstream's grpc-as.
 * Failures carry the status of the error registry (errors.ts) instead of upstream's ABORTED.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  attestationServiceDefinition,
  callerRequestId,
  healthCheckHandler,
  healthServiceDefinition,
  referenceValueServiceDefinition,
  type AttestationRequest,
  type ChallengeRequest,
  type DeletePolicyRequest,
  type GetPolicyRequest,
  type ReferenceValueDeleteRequest,
  type ReferenceValueQueryRequest,
  type ReferenceValueRegisterRequest,
  type SetPolicyRequest,
} from '@trustee/grpc';
import { requestIdOf, type Logger } from '@trustee/log';
import { b64url } from '@trustee/protocol';
import type { CallContext } from '@trustee/rvps-core';
import type { ComposedAs } from './compose.ts';
import { attestationChallenge, decodeGrpcAttestationRequest, decodePolicyText } from './decodeRequest.ts';
import { AsError, reportFailure, toAsError } from './errors.ts';

/** Largest request message accepted (upstream's tonic default is 4 MiB). */
export const GRPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export const HEALTH_SERVICES = ['', 'attestation.AttestationService', 'reference.ReferenceValueProviderService'];

type Handler<Req> = (request: Req, authorization: string | undefined, log: Logger) => Promise<object>;

function authorizationOf(metadata: grpc.Metadata): string | undefined {
  const [value] = metadata.get('authorization');
  return typeof value === 'string' ? value : undefined;
}

/** Adds the three services to a grpc-js server. */
export function addAsServices(server: grpc.Server, as: ComposedAs): void {
  function unary<Req>(method: string, handler: Handler<Req>): grpc.handleUnaryCall<Req, object> {
    return (call, callback) => {
      // One id per call, on every line the call causes (the core's too), as fastify does for REST:
      // the caller's (a KBS's `x-request-id`) when it sent a usable one, so both logs share it.
      const reqId = callerRequestId(call.metadata) ?? randomUUID();
      const log = as.log.child({ reqId });
      handler(call.request, authorizationOf(call.metadata), log).then(
        (response) => {
          as.metrics.request('grpc', method, 'OK');
          callback(null, response);
        },
        (error: unknown) => {
          const classified = toAsError(error);
          const name = grpc.status[classified.grpcStatus] ?? String(classified.grpcStatus);
          as.metrics.request('grpc', method, name);
          const details = reportFailure(log, reqId, `grpc ${method}`, classified, error);
          callback({ code: classified.grpcStatus, details: `${classified.code}: ${details}` });
        },
      );
    };
  }

  server.addService(attestationServiceDefinition, {
    AttestationEvaluate: unary<AttestationRequest>('AttestationEvaluate', async (request, _authorization, log) => {
      const { requests, policyIds } = decodeGrpcAttestationRequest(request);
      return { attestation_token: await as.evaluate(requests, policyIds, log) };
    }),
    SetAttestationPolicy: unary<SetPolicyRequest>('SetAttestationPolicy', async (request, authorization) => {
      await as.admin.check('policy', authorization);
      await as.service.setPolicy(request.policy_id, decodePolicyText(request.policy, 'policy'));
      return {};
    }),
    GetAttestationChallenge: unary<ChallengeRequest>('GetAttestationChallenge', async (request) => ({ attestation_challenge: attestationChallenge(request.inner ?? {}) })),
    GetAttestationPolicy: unary<GetPolicyRequest>('GetAttestationPolicy', async (request, authorization) => {
      await as.admin.check('policy', authorization);
      const policy = await as.service.getPolicy(request.policy_id);
      if (policy === undefined) throw new AsError('not_found', `policy ${JSON.stringify(request.policy_id.slice(0, 200))} not found`);
      return { policy: b64url.encode(new TextEncoder().encode(policy)) };
    }),
    ListAttestationPolicies: unary<object>('ListAttestationPolicies', async (_request, authorization) => {
      await as.admin.check('policy', authorization);
      return { policy_ids: await as.service.listPolicies() };
    }),
    DeleteAttestationPolicy: unary<DeletePolicyRequest>('DeleteAttestationPolicy', async (request, authorization) => {
      await as.admin.check('policy', authorization);
      if (!(await as.service.deletePolicy(request.policy_id))) throw new AsError('not_found', `policy ${JSON.stringify(request.policy_id.slice(0, 200))} not found`);
      return {};
    }),
  } as unknown as grpc.UntypedServiceImplementation);

  server.addService(referenceValueServiceDefinition, {
    QueryReferenceValue: unary<ReferenceValueQueryRequest>('QueryReferenceValue', async (request, _authorization, log) => {
      const value = await as.rvps.query(request.reference_value_id, callContext(log));
      return value === undefined ? {} : { reference_value_results: JSON.stringify(value) };
    }),
    RegisterReferenceValue: unary<ReferenceValueRegisterRequest>('RegisterReferenceValue', async (request, authorization, log) => {
      await as.admin.check('register_reference_value', authorization);
      await as.rvps.register(request.message, credentials(authorization), callContext(log));
      return {};
    }),
    ListReferenceValues: unary<object>('ListReferenceValues', async (_request, authorization, log) => {
      await as.admin.check('reference_value_admin', authorization);
      return { reference_values: await as.rvps.listRecords(credentials(authorization), callContext(log)) };
    }),
    DeleteReferenceValue: unary<ReferenceValueDeleteRequest>('DeleteReferenceValue', async (request, authorization, log) => {
      await as.admin.check('reference_value_admin', authorization);
      return { deleted: await as.rvps.delete(request.reference_value_id, credentials(authorization), callContext(log)) };
    }),
  } as unknown as grpc.UntypedServiceImplementation);

  server.addService(healthServiceDefinition, { Check: healthCheckHandler(HEALTH_SERVICES, as.readiness) } as unknown as grpc.UntypedServiceImplementation);
}

/** A new server with the AS services and upstream-like message limits. */
export function createAsGrpcServer(as: ComposedAs): grpc.Server {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES });
  addAsServices(server, as);
  return server;
}

/** Binds `host:port` (port 0 = ephemeral) and resolves the port actually bound. */
export function bindGrpc(server: grpc.Server, socket: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(socket, credentials, (error, port) => (error === null ? resolve(port) : reject(error)));
  });
}

function credentials(authorization: string | undefined): { authorization?: string } {
  return authorization === undefined ? {} : { authorization };
}

/** The call's reqId, sent on to a remote RVPS so its log names the same request. */
function callContext(log: Logger): CallContext {
  return { requestId: requestIdOf(log) };
}
