/**
 * Invariant: the remote RVPS client behaves like the built-in RVPS it talks to (register, query,
 * list, delete round-trip over real gRPC), dials upstream's address forms, and turns an outage
 * into a typed `rvps_error` after its retries instead of hanging or throwing a raw gRPC error.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { referenceValueServiceDefinition } from '@trustee/grpc';
import { MemoryStore } from '@trustee/storage';
import { AttestationError } from '../attestationError.ts';
import { createBuiltinRvps } from './builtinRvps.ts';
import { createGrpcRvpsClient, rvpsTarget, type GrpcRvpsClient } from './grpcRvpsClient.ts';

function message(values: Record<string, unknown>): string {
  return JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') });
}

type Handler = (call: { request: Record<string, string> }, callback: grpc.sendUnaryData<object>) => void;

function serveBuiltin(): { server: grpc.Server; handlers: Record<string, Handler>; healthQueries: () => number } {
  const rvps = createBuiltinRvps(new MemoryStore());
  let healthQueries = 0;
  const fail = (callback: grpc.sendUnaryData<object>, error: unknown): void =>
    callback({ code: error instanceof AttestationError && error.code === 'invalid_reference_value' ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: (error as Error).message });
  const handlers: Record<string, Handler> = {
    QueryReferenceValue: (call, callback) => {
      const id = call.request.reference_value_id ?? '';
      if (id === '__healthcheck__') healthQueries += 1;
      rvps.query(id).then((value) => callback(null, value === undefined ? {} : { reference_value_results: JSON.stringify(value) }), (error) => fail(callback, error));
    },
    RegisterReferenceValue: (call, callback) => {
      rvps.register(call.request.message ?? '').then(() => callback(null, {}), (error) => fail(callback, error));
    },
    ListReferenceValues: (_call, callback) => {
      rvps
        .list()
        .then(async (ids) => Promise.all(ids.map(async (id) => JSON.stringify(await rvps.getRecord(id)))))
        .then((records) => callback(null, { reference_values: records }), (error) => fail(callback, error));
    },
    DeleteReferenceValue: (call, callback) => {
      rvps.delete(call.request.reference_value_id ?? '').then((deleted) => callback(null, { deleted }), (error) => fail(callback, error));
    },
  };
  const server = new grpc.Server();
  server.addService(referenceValueServiceDefinition, handlers as unknown as grpc.UntypedServiceImplementation);
  return { server, handlers, healthQueries: () => healthQueries };
}

function bind(server: grpc.Server, address = '127.0.0.1:0'): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => (error === null ? resolve(port) : reject(error))));
}

describe('rvpsTarget: upstream address forms', () => {
  test.each([
    ['127.0.0.1:50003', 'http://127.0.0.1:50003', '127.0.0.1:50003', false],
    ['http://rvps:50003', 'http://rvps:50003', 'rvps:50003', false],
    ['https://rvps.example:8443', 'https://rvps.example:8443', 'rvps.example:8443', true],
    ['http://rvps', 'http://rvps', 'rvps:80', false],
  ])('%s', (address, url, target, tls) => {
    expect(rvpsTarget(address)).toEqual({ url, target, tls });
  });

  test.each(['unix:///tmp/rvps.sock', 'ftp://rvps:21', 'http://rvps:50003/path', 'http://[::1']) ('%s is rejected as invalid_config', (address) => {
    expect(() => rvpsTarget(address)).toThrow(expect.objectContaining({ code: 'invalid_config' }) as Error);
  });
});

describe('createGrpcRvpsClient against a real RVPS server', () => {
  const served = serveBuiltin();
  let client: GrpcRvpsClient;

  beforeAll(async () => {
    const port = await bind(served.server);
    client = createGrpcRvpsClient({ address: `127.0.0.1:${port}` });
  });
  afterAll(() => {
    client.close();
    served.server.forceShutdown();
  });

  test('register, query, list, delete round-trip', async () => {
    await client.register(message({ svn: ['1'], 'launch-digest': ['abc'] }));
    expect(await client.query('svn')).toEqual(['1']);
    expect(await client.query('absent')).toBeUndefined();
    expect(await client.list()).toEqual(['launch-digest', 'svn']);
    const records = (await client.listRecords()).map((text) => JSON.parse(text) as { name: string; value: unknown; expiration: string });
    expect(records.map((r) => [r.name, r.value])).toEqual([
      ['launch-digest', ['abc']],
      ['svn', ['1']],
    ]);
    expect(await client.delete('svn')).toBe(true);
    expect(await client.delete('svn')).toBe(false);
    expect(await client.query('svn')).toBeUndefined();
  });

  test('a message the RVPS rejects is invalid_reference_value, with the remote reason', async () => {
    const error = await client.register(JSON.stringify({ version: '9.9.9', type: 'sample', payload: '' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttestationError);
    expect(error).toMatchObject({ code: 'invalid_reference_value' });
    expect((error as Error).message).toMatch(/INVALID_ARGUMENT/);
  });

  test('health probes with the upstream health-check id', async () => {
    const before = served.healthQueries();
    await client.health();
    expect(served.healthQueries()).toBe(before + 1);
  });
});

describe('createGrpcRvpsClient when the RVPS is down', () => {
  test('UNAVAILABLE is retried, then reported as rvps_error with the attempt count', async () => {
    const probe = new grpc.Server();
    const port = await bind(probe);
    probe.forceShutdown();
    const client = createGrpcRvpsClient({ address: `http://127.0.0.1:${port}`, retries: 2, backoffMs: 10 });
    try {
      const error = await client.query('svn').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AttestationError);
      expect(error).toMatchObject({ code: 'rvps_error' });
      expect((error as Error).message).toMatch(/UNAVAILABLE after 3 attempts/);
      await expect(client.health(500)).rejects.toMatchObject({ code: 'rvps_error' });
    } finally {
      client.close();
    }
  });

  test('a server that comes up while the client backs off is reached', async () => {
    const probe = new grpc.Server();
    const port = await bind(probe);
    probe.forceShutdown();
    const client = createGrpcRvpsClient({ address: `127.0.0.1:${port}`, retries: 8, backoffMs: 20 });
    const late = serveBuiltin();
    try {
      const pending = client.register(message({ late: [true] }));
      await bind(late.server, `127.0.0.1:${port}`);
      await pending;
      expect(await client.query('late')).toEqual([true]);
    } finally {
      client.close();
      late.server.forceShutdown();
    }
  });
});
