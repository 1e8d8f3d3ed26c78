// The gRPC services must stay wire-compatible with upstream trustee: same method paths and
// field numbers. This round-trips every upstream RPC over a real loopback server.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AttestationServiceClient,
  ReferenceValueProviderServiceClient,
  attestationServiceDefinition,
  referenceValueServiceDefinition,
} from './protos.ts';
import type { AttestationRequest, ReferenceValueQueryRequest } from './messages.ts';

describe('upstream method paths', () => {
  it('keeps the AttestationService paths', () => {
    expect(Object.values(attestationServiceDefinition).map((m) => m.path)).toEqual(
      expect.arrayContaining([
        '/attestation.AttestationService/AttestationEvaluate',
        '/attestation.AttestationService/SetAttestationPolicy',
        '/attestation.AttestationService/GetAttestationChallenge',
      ]),
    );
  });

  it('keeps the ReferenceValueProviderService paths', () => {
    expect(Object.values(referenceValueServiceDefinition).map((m) => m.path)).toEqual(
      expect.arrayContaining([
        '/reference.ReferenceValueProviderService/QueryReferenceValue',
        '/reference.ReferenceValueProviderService/RegisterReferenceValue',
      ]),
    );
  });

  it('encodes field numbers as upstream (tee=1, evidence=3, structured_runtime_data=5, init_data_toml=7, alg=8)', () => {
    const serialize = attestationServiceDefinition['AttestationEvaluate']?.requestSerialize;
    if (serialize === undefined) throw new Error('missing serializer');
    const bytes = serialize({
      verification_requests: [{ tee: 'a', evidence: 'b', structured_runtime_data: 'c', init_data_toml: 'd', runtime_data_hash_algorithm: 'e' }],
      policy_ids: ['f'],
    });
    // Inner message: tag(1,LEN)=0x0a 'a', tag(3)=0x1a 'b', tag(5)=0x2a 'c', tag(7)=0x3a 'd', tag(8)=0x42 'e'.
    const inner = Buffer.from([0x0a, 1, 0x61, 0x1a, 1, 0x62, 0x2a, 1, 0x63, 0x3a, 1, 0x64, 0x42, 1, 0x65]);
    expect(Buffer.from(bytes)).toEqual(Buffer.concat([Buffer.from([0x0a, inner.length]), inner, Buffer.from([0x12, 1, 0x66])]));
  });
});

describe('loopback round trip', () => {
  const server = new grpc.Server();
  let address = '';
  const seen: AttestationRequest[] = [];

  beforeAll(async () => {
    server.addService(attestationServiceDefinition, {
      AttestationEvaluate: (call: grpc.ServerUnaryCall<AttestationRequest, unknown>, done: grpc.sendUnaryData<unknown>) => {
        seen.push(call.request);
        done(null, { attestation_token: 'token' });
      },
      SetAttestationPolicy: (_call: unknown, done: grpc.sendUnaryData<unknown>) => done(null, {}),
      GetAttestationChallenge: (_call: unknown, done: grpc.sendUnaryData<unknown>) => done(null, { attestation_challenge: '' }),
    });
    server.addService(referenceValueServiceDefinition, {
      QueryReferenceValue: (call: grpc.ServerUnaryCall<ReferenceValueQueryRequest, unknown>, done: grpc.sendUnaryData<unknown>) =>
        done(null, call.request.reference_value_id === 'known' ? { reference_value_results: '["1"]' } : {}),
      RegisterReferenceValue: (_call: unknown, done: grpc.sendUnaryData<unknown>) => done(null, {}),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(() => {
    server.forceShutdown();
  });

  it('carries the oneof member and policy ids', async () => {
    const client = new AttestationServiceClient(address, grpc.credentials.createInsecure());
    const call = (method: string, request: unknown) =>
      new Promise<unknown>((resolve, reject) =>
        (client as unknown as Record<string, (r: unknown, cb: (e: Error | null, v: unknown) => void) => void>)[method]?.call(client, request, (error, value) =>
          error ? reject(error) : resolve(value),
        ),
      );
    const response = await call('AttestationEvaluate', {
      verification_requests: [{ tee: 'sample', evidence: 'e30', structured_runtime_data: '{}', runtime_data_hash_algorithm: 'sha384' }],
      policy_ids: ['default'],
    });
    expect(response).toEqual({ attestation_token: 'token' });
    expect(seen[0]?.verification_requests[0]?.runtime_data).toBe('structured_runtime_data');
    expect(seen[0]?.verification_requests[0]?.init_data).toBeUndefined();
    expect(seen[0]?.policy_ids).toEqual(['default']);
    client.close();
  });

  it('leaves reference_value_results absent for an unknown id', async () => {
    const client = new ReferenceValueProviderServiceClient(address, grpc.credentials.createInsecure());
    const query = (id: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) =>
        (client as unknown as Record<string, (r: unknown, cb: (e: Error | null, v: Record<string, unknown>) => void) => void>)['QueryReferenceValue']?.call(
          client,
          { reference_value_id: id },
          (error, value) => (error ? reject(error) : resolve(value)),
        ),
      );
    expect((await query('known'))['reference_value_results']).toBe('["1"]');
    expect((await query('unknown'))['reference_value_results']).toBeUndefined();
    client.close();
  });
});
